// OTEL_* variables read as the OpenTelemetry environment specification reads them. No OpenTelemetry
// import here: the ESM register entry reads OTEL_SDK_DISABLED before loading the SDK.

/** A variable's value, with the empty string read as unset (the specification's rule). */
export function envValue(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** A boolean variable: `invalid` holds a value that is neither true nor false (read as false). */
export interface BooleanEnv {
  readonly value: boolean;
  readonly invalid: string | undefined;
}

/**
 * Only the case-insensitive string "true" is true; unset, empty and "false" are false; anything else
 * is false too, and the caller SHOULD warn about it (the specification's Boolean type).
 */
export function booleanEnv(name: string, env: NodeJS.ProcessEnv = process.env): BooleanEnv {
  const raw = env[name];
  const value = raw?.trim().toLowerCase() ?? '';
  if (value === 'true') return { value: true, invalid: undefined };
  if (value === '' || value === 'false') return { value: false, invalid: undefined };
  return { value: false, invalid: raw };
}

/** OTEL_SDK_DISABLED: `true` turns the SDK off. */
export function sdkDisabled(env: NodeJS.ProcessEnv = process.env): BooleanEnv {
  return booleanEnv('OTEL_SDK_DISABLED', env);
}
