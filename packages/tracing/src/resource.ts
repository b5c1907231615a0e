// The resource of every span: OpenTelemetry's standard detectors (host, os, process, environment) and
// a service.instance.id per process, then the resourceAttributes and serviceName options.
import { randomUUID } from 'node:crypto';
import type { Attributes } from '@opentelemetry/api';
import {
  type DetectedResource,
  type Resource,
  type ResourceDetectionConfig,
  type ResourceDetector,
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

/** `service.instance.id` (its constant is stable only in recent semantic-conventions releases). */
export const ATTR_SERVICE_INSTANCE_ID = 'service.instance.id';

// One per process, kept across shutdown() and a new startTracing(): replicas of one service differ by
// it, restarts of the SDK inside one process do not.
const INSTANCE_ID = randomUUID();

/** service.instance.id: one random UUID per process. */
class ServiceInstanceIdDetector implements ResourceDetector {
  detect(): DetectedResource {
    return { attributes: { [ATTR_SERVICE_INSTANCE_ID]: INSTANCE_ID } };
  }
}

/**
 * OpenTelemetry's process detector without process.command_args: the whole command line would carry
 * secrets passed as arguments on every span. The executable, the script (process.command), the pid and
 * the runtime stay.
 */
class ProcessDetectorWithoutArgs implements ResourceDetector {
  detect(config?: ResourceDetectionConfig): DetectedResource {
    const detected = processDetector.detect(config);
    const attributes = { ...detected.attributes };
    delete attributes['process.command_args'];
    return { ...detected, attributes };
  }
}

/**
 * defaultResource() (telemetry.sdk.*, a default service.name), then host.*, os.*, process.* and
 * service.instance.id, then OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (the environment detector,
 * last so it can set service.instance.id), then `attributes`, then `serviceName` when not empty.
 */
export function buildResource(serviceName: string, attributes: Attributes | undefined): Resource {
  let resource = defaultResource().merge(
    detectResources({
      detectors: [
        hostDetector,
        osDetector,
        new ProcessDetectorWithoutArgs(),
        new ServiceInstanceIdDetector(),
        envDetector,
      ],
    }),
  );
  if (attributes) resource = resource.merge(resourceFromAttributes(attributes));
  if (serviceName)
    resource = resource.merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }));
  settle(resource);
  return resource;
}

/** `resource` with another service.name (providerFor()). */
export function withServiceName(resource: Resource, serviceName: string): Resource {
  const other = resource.merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }));
  settle(other);
  return other;
}

/**
 * host.id is read asynchronously (from /etc/machine-id on Linux). Settling it now, in place, means
 * spans made from here on carry a resource whose attributes can be read without OpenTelemetry's
 * "accessed before async attributes settled" error; the batch processor waits for it anyway.
 */
function settle(resource: Resource): void {
  if (resource.asyncAttributesPending) void resource.waitForAsyncAttributes?.();
}
