// The one secret policy: secret request headers, metadata keys and query parameters, by list and by
// suffix, the same for every package that redacts.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_REDACTED_KEYS,
  REDACTED,
  SECRET_REQUEST_HEADERS,
  isSecretHeader,
  isSecretKey,
  redactUrlQuery,
} from '@vigil/core';

describe('isSecretHeader', () => {
  it.each(SECRET_REQUEST_HEADERS)('should treat the listed header %s as secret', (name) => {
    expect(isSecretHeader(name)).toBe(true);
    expect(isSecretHeader(name.toUpperCase())).toBe(true);
  });

  it.each([
    'x-session-token',
    'X-Client-Secret',
    'x-db-password',
    'x-upload-signature',
    'x-partner-api-key',
  ])('should treat %s as secret by its suffix', (name) => {
    expect(isSecretHeader(name)).toBe(true);
  });

  it.each([
    'x-request-id',
    'x-correlation-id',
    'content-type',
    'user-agent',
    'traceparent',
    'accept',
  ])('should leave %s alone', (name) => {
    expect(isSecretHeader(name)).toBe(false);
  });

  it('should give the same verdict again once it is cached, for any number of names', () => {
    for (let i = 0; i < 5000; i++) expect(isSecretHeader(`x-random-${i}`)).toBe(false);
    expect(isSecretHeader('x-random-4999-token')).toBe(true);
    expect(isSecretHeader('x-session-token')).toBe(true);
  });
});

describe('isSecretKey', () => {
  it.each(DEFAULT_REDACTED_KEYS)('should treat the listed key %s as secret', (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each([
    'Authorization',
    'X-Api-Key',
    'resetToken',
    'db_password',
    'partnerApiKey',
    'webhook_signature',
  ])('should treat %s as secret', (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each(['user', 'amount', 'request_id', 'tokens_used_count'])('should leave %s alone', (key) => {
    expect(isSecretKey(key)).toBe(false);
  });
});

describe('redactUrlQuery', () => {
  it('should redact listed and suffixed parameters and keep the rest', () => {
    expect(
      redactUrlQuery('/a?token=t1&page=2&refreshToken=r&user[password]=p&x_signature=s#frag'),
    ).toBe(
      `/a?token=${REDACTED}&page=2&refreshToken=${REDACTED}&user[password]=${REDACTED}&x_signature=${REDACTED}#frag`,
    );
  });

  it('should return a URL without secrets unchanged', () => {
    const url = '/a?page=2&sort=name';
    expect(redactUrlQuery(url)).toBe(url);
  });
});
