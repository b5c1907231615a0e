// grafanaProvisioning(): YAML that parses to what Grafana expects, options applied and checked.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DASHBOARDS_ERROR_CODES, grafanaProvisioning } from '@vigil/dashboards';

describe('grafanaProvisioning', () => {
  it('should give a file provider and a Prometheus data source', () => {
    const files = grafanaProvisioning();
    expect(parse(files['dashboards/vigil.yml'])).toEqual({
      apiVersion: 1,
      providers: [
        {
          name: 'vigil',
          orgId: 1,
          folder: 'Vigil',
          type: 'file',
          disableDeletion: false,
          allowUiUpdates: false,
          updateIntervalSeconds: 30,
          options: { path: '/var/lib/grafana/dashboards/vigil', foldersFromFilesStructure: false },
        },
      ],
    });
    expect(parse(files['datasources/prometheus.yml'])).toEqual({
      apiVersion: 1,
      datasources: [
        {
          name: 'Prometheus',
          type: 'prometheus',
          access: 'proxy',
          url: 'http://prometheus:9090',
          isDefault: true,
          editable: false,
          jsonData: { timeInterval: '15s', httpMethod: 'POST' },
        },
      ],
    });
  });

  it('should quote values that YAML would read otherwise', () => {
    const files = grafanaProvisioning({
      dashboardsPath: '/dash: "x" #1',
      prometheusUrl: 'http://127.0.0.1:9090/prom?x=1#y',
      folder: 'yes',
      scrapeInterval: '1s',
    });
    const provider = parse(files['dashboards/vigil.yml']) as {
      providers: { folder: unknown; options: { path: unknown } }[];
    };
    expect(provider.providers[0]!.folder).toBe('yes');
    expect(provider.providers[0]!.options.path).toBe('/dash: "x" #1');
    const ds = parse(files['datasources/prometheus.yml']) as {
      datasources: { url: unknown; jsonData: { timeInterval: unknown } }[];
    };
    expect(ds.datasources[0]!.url).toBe('http://127.0.0.1:9090/prom?x=1#y');
    expect(ds.datasources[0]!.jsonData.timeInterval).toBe('1s');
  });

  it.each([
    ['prometheusUrl', 'an http(s) URL', { prometheusUrl: 'prometheus:9090' }],
    ['scrapeInterval', 'a Prometheus duration', { scrapeInterval: 'soon' }],
    ['folder', 'a folder name', { folder: 'a\nb' }],
  ])('should reject option %s', (option, expected, value) => {
    expect(() => grafanaProvisioning(value)).toThrow(
      expect.objectContaining({
        code: DASHBOARDS_ERROR_CODES.INVALID_OPTION,
        message: expect.stringContaining(`option "${option}" must be ${expected}`) as unknown,
      }),
    );
  });
});
