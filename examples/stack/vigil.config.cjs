// The reference app as the vigil CLI reads it (the app module): `npm run stack` at the repository's
// root writes this folder from it. It reads the reference app's built modules (`npm run build`).
'use strict';

const {
  GATEWAY_JOB,
  gatewayAlerts,
  gatewayAlertmanagerConfig,
} = require('../reference-app/dist/alerts.js');
const { gatewayDashboardsOptions } = require('../reference-app/dist/dashboards.js');

module.exports = {
  // The Prometheus job the rules select, the compose service and the Kubernetes names.
  service: GATEWAY_JOB,
  port: 3000,
  // VIGIL_ALERTS_DEMO=1 gives the demo's windows of minutes (examples/stack/demo).
  rules: () => gatewayAlerts(),
  alertmanager: () => gatewayAlertmanagerConfig(),
  dashboards: gatewayDashboardsOptions,
  // The reference app has no image of its own: compose runs it from the repository (built on the
  // host with `npm ci && npm run build`); for Kubernetes, build an image and name it here.
  image: 'node:20-slim',
  command: ['node', 'examples/reference-app/dist/main.js'],
  // Listen on every interface of the container, not on loopback only (the app's default).
  env: { HOST: '0.0.0.0' },
  compose: { working_dir: '/app', volumes: ['../..:/app:ro'] },
};
