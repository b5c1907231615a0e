// Public API of @vigil/alerts.
export { ALERTS_ERROR_CODES } from './errors';
