// Locating the real binaries tests start (promtool): the integration suite's helper.
export { findBinary } from '../../../../test/support/binaries';
