// A decoder for OTLP/HTTP protobuf trace requests (opentelemetry-proto ExportTraceServiceRequest),
// producing the shape of the JSON encoding (hex ids, AnyValue objects) so one receiver reads both.

/** An AnyValue as the JSON encoding spells it. */
export interface AnyValueJson {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number;
  doubleValue?: number;
  arrayValue?: { values: AnyValueJson[] };
  kvlistValue?: { values: KeyValueJson[] };
  bytesValue?: string;
}

export interface KeyValueJson {
  key: string;
  value?: AnyValueJson;
}

export interface SpanJson {
  traceId: string;
  spanId: string;
  traceState?: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes: KeyValueJson[];
  events: { timeUnixNano?: string; name: string; attributes: KeyValueJson[] }[];
  links: { traceId: string; spanId: string; attributes: KeyValueJson[] }[];
  status?: { code?: number; message?: string };
}

export interface ExportTraceServiceRequestJson {
  resourceSpans: {
    resource?: { attributes: KeyValueJson[] };
    scopeSpans: { scope?: { name?: string; version?: string }; spans: SpanJson[] }[];
  }[];
}

const WIRE_VARINT = 0;
const WIRE_64 = 1;
const WIRE_LEN = 2;
const WIRE_32 = 5;

/** Protobuf wire format: just what the trace request uses. Throws on truncated or malformed input. */
class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new Error('varint longer than 10 bytes');
  }

  tag(): { field: number; wire: number } {
    const t = Number(this.varint());
    return { field: t >>> 3, wire: t & 7 };
  }

  bytes(): Buffer {
    const length = Number(this.varint());
    if (this.pos + length > this.buf.length) throw new Error('truncated length-delimited field');
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  fixed64(): Buffer {
    if (this.pos + 8 > this.buf.length) throw new Error('truncated fixed64');
    const out = this.buf.subarray(this.pos, this.pos + 8);
    this.pos += 8;
    return out;
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_64) this.fixed64();
    else if (wire === WIRE_LEN) this.bytes();
    else if (wire === WIRE_32) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

/** Calls `onField` for each field of the message in `buf`. */
function fields(buf: Buffer, onField: (field: number, wire: number, r: Reader) => boolean): void {
  const r = new Reader(buf);
  while (!r.done) {
    const { field, wire } = r.tag();
    if (!onField(field, wire, r)) r.skip(wire);
  }
}

function anyValue(buf: Buffer): AnyValueJson {
  const out: AnyValueJson = {};
  fields(buf, (field, wire, r) => {
    if (field === 1 && wire === WIRE_LEN) out.stringValue = r.bytes().toString('utf8');
    else if (field === 2 && wire === WIRE_VARINT) out.boolValue = r.varint() !== 0n;
    else if (field === 3 && wire === WIRE_VARINT)
      out.intValue = Number(BigInt.asIntN(64, r.varint()));
    else if (field === 4 && wire === WIRE_64) out.doubleValue = r.fixed64().readDoubleLE(0);
    else if (field === 5 && wire === WIRE_LEN) {
      const values: AnyValueJson[] = [];
      fields(r.bytes(), (f, w, rr) => {
        if (f !== 1 || w !== WIRE_LEN) return false;
        values.push(anyValue(rr.bytes()));
        return true;
      });
      out.arrayValue = { values };
    } else if (field === 6 && wire === WIRE_LEN) {
      out.kvlistValue = { values: keyValues(r.bytes(), 1) };
    } else if (field === 7 && wire === WIRE_LEN) out.bytesValue = r.bytes().toString('base64');
    else return false;
    return true;
  });
  return out;
}

function keyValue(buf: Buffer): KeyValueJson {
  const out: KeyValueJson = { key: '' };
  fields(buf, (field, wire, r) => {
    if (field === 1 && wire === WIRE_LEN) out.key = r.bytes().toString('utf8');
    else if (field === 2 && wire === WIRE_LEN) out.value = anyValue(r.bytes());
    else return false;
    return true;
  });
  return out;
}

/** The repeated KeyValue field `number` of the message in `buf`. */
function keyValues(buf: Buffer, number: number): KeyValueJson[] {
  const out: KeyValueJson[] = [];
  fields(buf, (field, wire, r) => {
    if (field !== number || wire !== WIRE_LEN) return false;
    out.push(keyValue(r.bytes()));
    return true;
  });
  return out;
}

const nanos = (b: Buffer): string => b.readBigUInt64LE(0).toString();

function span(buf: Buffer): SpanJson {
  const out: SpanJson = {
    traceId: '',
    spanId: '',
    name: '',
    attributes: [],
    events: [],
    links: [],
  };
  fields(buf, (field, wire, r) => {
    if (wire === WIRE_LEN && field === 1) out.traceId = r.bytes().toString('hex');
    else if (wire === WIRE_LEN && field === 2) out.spanId = r.bytes().toString('hex');
    else if (wire === WIRE_LEN && field === 3) out.traceState = r.bytes().toString('utf8');
    else if (wire === WIRE_LEN && field === 4) {
      const parent = r.bytes().toString('hex');
      if (parent !== '') out.parentSpanId = parent;
    } else if (wire === WIRE_LEN && field === 5) out.name = r.bytes().toString('utf8');
    else if (wire === WIRE_VARINT && field === 6) out.kind = Number(r.varint());
    else if (wire === WIRE_64 && field === 7) out.startTimeUnixNano = nanos(r.fixed64());
    else if (wire === WIRE_64 && field === 8) out.endTimeUnixNano = nanos(r.fixed64());
    else if (wire === WIRE_LEN && field === 9) out.attributes.push(keyValue(r.bytes()));
    else if (wire === WIRE_LEN && field === 11) {
      const event: SpanJson['events'][number] = { name: '', attributes: [] };
      fields(r.bytes(), (f, w, rr) => {
        if (f === 1 && w === WIRE_64) event.timeUnixNano = nanos(rr.fixed64());
        else if (f === 2 && w === WIRE_LEN) event.name = rr.bytes().toString('utf8');
        else if (f === 3 && w === WIRE_LEN) event.attributes.push(keyValue(rr.bytes()));
        else return false;
        return true;
      });
      out.events.push(event);
    } else if (wire === WIRE_LEN && field === 13) {
      const link: SpanJson['links'][number] = { traceId: '', spanId: '', attributes: [] };
      fields(r.bytes(), (f, w, rr) => {
        if (f === 1 && w === WIRE_LEN) link.traceId = rr.bytes().toString('hex');
        else if (f === 2 && w === WIRE_LEN) link.spanId = rr.bytes().toString('hex');
        else if (f === 4 && w === WIRE_LEN) link.attributes.push(keyValue(rr.bytes()));
        else return false;
        return true;
      });
      out.links.push(link);
    } else if (wire === WIRE_LEN && field === 15) {
      const status: NonNullable<SpanJson['status']> = {};
      fields(r.bytes(), (f, w, rr) => {
        if (f === 2 && w === WIRE_LEN) status.message = rr.bytes().toString('utf8');
        else if (f === 3 && w === WIRE_VARINT) status.code = Number(rr.varint());
        else return false;
        return true;
      });
      out.status = status;
    } else return false;
    return true;
  });
  return out;
}

/** Decodes a protobuf ExportTraceServiceRequest body. Throws on malformed input. */
export function decodeTraceRequest(body: Buffer): ExportTraceServiceRequestJson {
  const out: ExportTraceServiceRequestJson = { resourceSpans: [] };
  fields(body, (field, wire, r) => {
    if (field !== 1 || wire !== WIRE_LEN) return false;
    const rs: ExportTraceServiceRequestJson['resourceSpans'][number] = { scopeSpans: [] };
    fields(r.bytes(), (f, w, rr) => {
      if (f === 1 && w === WIRE_LEN) rs.resource = { attributes: keyValues(rr.bytes(), 1) };
      else if (f === 2 && w === WIRE_LEN) {
        const ss: (typeof rs.scopeSpans)[number] = { spans: [] };
        fields(rr.bytes(), (sf, sw, sr) => {
          if (sf === 1 && sw === WIRE_LEN) {
            const scope: { name?: string; version?: string } = {};
            fields(sr.bytes(), (cf, cw, cr) => {
              if (cf === 1 && cw === WIRE_LEN) scope.name = cr.bytes().toString('utf8');
              else if (cf === 2 && cw === WIRE_LEN) scope.version = cr.bytes().toString('utf8');
              else return false;
              return true;
            });
            ss.scope = scope;
          } else if (sf === 2 && sw === WIRE_LEN) ss.spans.push(span(sr.bytes()));
          else return false;
          return true;
        });
        rs.scopeSpans.push(ss);
      } else return false;
      return true;
    });
    out.resourceSpans.push(rs);
    return true;
  });
  return out;
}
