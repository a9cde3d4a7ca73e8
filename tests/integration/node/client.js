// SPDX-License-Identifier: Apache-2.0
// grpc-js interop client (@grpc/grpc-js + @grpc/proto-loader on proto/externalscaler.proto).
// Same command line and canonical JSON output as the grpc-go and C-core clients (see
// tests/integration/interop/run_interop.py).
'use strict';

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const USAGE = 'usage: client.js --addr HOST:PORT --workload NAME... [--metadata k=v...] ' +
    '[--stream-wait-ms N] [--deadline-ms N] [--proto-dir DIR]';

function usage(msg) {
    process.stderr.write(`client.js: ${msg}\n${USAGE}\n`);
    process.exit(2);
}

function parseArgs(argv) {
    const args = {
        addr: '', workloads: [], metadata: {}, waitMs: 1500, deadlineMs: 0,
        protoDir: process.env.KD_PROTO_DIR || path.join(__dirname, '..', '..', '..', 'proto'),
    };
    for (let i = 0; i < argv.length; i++) {
        let flag = argv[i];
        let value;
        const eq = flag.indexOf('=');
        if (flag.startsWith('--') && eq > 0) {
            value = flag.slice(eq + 1);
            flag = flag.slice(0, eq);
        } else {
            value = argv[++i];
        }
        if (value === undefined)
            usage(`${flag} needs a value`);
        switch (flag) {
        case '--addr': args.addr = value; break;
        case '--workload': args.workloads.push(value); break;
        case '--metadata': {
            const eq = value.indexOf('=');
            if (eq <= 0)
                usage(`--metadata ${JSON.stringify(value)} is not k=v`);
            args.metadata[value.slice(0, eq)] = value.slice(eq + 1);
            break;
        }
        case '--stream-wait-ms': args.waitMs = Number.parseInt(value, 10); break;
        case '--deadline-ms': args.deadlineMs = Number.parseInt(value, 10); break;
        case '--proto-dir': args.protoDir = value; break;
        default: usage(`unknown option ${flag}`);
        }
    }
    if (!args.addr || args.workloads.length === 0 || !(args.waitMs >= 0) || !(args.deadlineMs >= 0))
        usage('--addr and --workload are required');
    return args;
}

// An already-serialised JSON token (canonical floats, int64 digits).
class Raw {
    constructor(text) { this.text = text; }
}

// Same rules as the Go and Python clients: shortest round-trip digits, fixed notation with at
// least one fractional digit for exponents -7..20, else d.ddde±X.
function canonicalNumber(neg, digits, exp) {
    digits = digits.replace(/0+$/, '');
    if (digits === '') {
        digits = '0';
        exp = 0;
    }
    let out;
    if (exp >= -7 && exp < 21) {
        if (exp >= 0) {
            digits = digits.padEnd(exp + 1, '0');
            out = digits.slice(0, exp + 1) + '.' + (digits.slice(exp + 1) || '0');
        } else {
            out = '0.' + '0'.repeat(-exp - 1) + digits;
        }
    } else {
        out = `${digits[0]}.${digits.slice(1) || '0'}e${exp >= 0 ? '+' : '-'}${Math.abs(exp)}`;
    }
    return (neg ? '-' : '') + out;
}

function formatFloat(f) {
    if (Number.isNaN(f))
        return new Raw('"NaN"');
    if (f === Infinity)
        return new Raw('"Infinity"');
    if (f === -Infinity)
        return new Raw('"-Infinity"');
    const [mant, exp] = Math.abs(f).toExponential().split('e');
    return new Raw(canonicalNumber(f < 0 || Object.is(f, -0), mant.replace('.', ''),
        Number.parseInt(exp, 10)));
}

function quote(s) {
    let out = '"';
    for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c === 0x22)
            out += '\\"';
        else if (c === 0x5c)
            out += '\\\\';
        else if (c < 0x20 || c >= 0x7f)
            out += '\\u' + c.toString(16).padStart(4, '0');
        else
            out += s[i];
    }
    return out + '"';
}

function encode(v) {
    if (v instanceof Raw)
        return v.text;
    if (typeof v === 'boolean')
        return v ? 'true' : 'false';
    if (typeof v === 'number' && Number.isInteger(v))
        return String(v);
    if (typeof v === 'string')
        return quote(v);
    if (Array.isArray(v))
        return '[' + v.map(encode).join(',') + ']';
    if (v !== null && typeof v === 'object') {
        return '{' + Object.keys(v).sort().map((k) => quote(k) + ':' + encode(v[k])).join(',') +
            '}';
    }
    throw new TypeError(`encode: unsupported ${typeof v}`);
}

function failure(err) {
    return { code: err.code, message: err.details || '' };
}

class Runner {
    constructor(client, deadlineMs, waitMs) {
        this.client = client;
        this.deadlineMs = deadlineMs;
        this.waitMs = waitMs;
    }

    unary(method, request) {
        const options = this.deadlineMs > 0 ? { deadline: Date.now() + this.deadlineMs } : {};
        return new Promise((resolve) => {
            this.client[method](request, new grpc.Metadata(), options, (err, resp) => {
                resolve(err ? { err } : { resp });
            });
        });
    }

    async spec(ref) {
        const { err, resp } = await this.unary('GetMetricSpec', ref);
        if (err)
            return [failure(err), ''];
        const specs = resp.metricSpecs.map((s) => ({
            metricName: s.metricName,
            targetSize: new Raw(s.targetSize),
            targetSizeFloat: formatFloat(s.targetSizeFloat),
        }));
        return [{ code: 0, specs }, resp.metricSpecs.length ? resp.metricSpecs[0].metricName : ''];
    }

    async metrics(ref, metricName) {
        const { err, resp } = await this.unary('GetMetrics', { scaledObjectRef: ref, metricName });
        if (err)
            return failure(err);
        const values = resp.metricValues.map((v) => ({
            metricName: v.metricName,
            metricValue: new Raw(v.metricValue),
            metricValueFloat: formatFloat(v.metricValueFloat),
        }));
        return { code: 0, values };
    }

    async isActive(ref) {
        const { err, resp } = await this.unary('IsActive', ref);
        return err ? failure(err) : { code: 0, result: resp.result };
    }

    // Keeps StreamIsActive open for waitMs like KEDA's push loop, then cancels it.
    stream(ref) {
        return new Promise((resolve) => {
            const messages = [];
            let cancelled = false;
            const call = this.client.StreamIsActive(ref);
            const timer = setTimeout(() => {
                cancelled = true;
                call.cancel();
            }, this.waitMs);
            call.on('data', (m) => {
                if (!cancelled)
                    messages.push(m.result);
            });
            call.on('error', () => {});  // the outcome is taken from 'status'
            call.on('status', (st) => {
                clearTimeout(timer);
                if (st.code === grpc.status.OK)
                    resolve({ code: 0, messages });
                else if (cancelled && st.code === grpc.status.CANCELLED)
                    resolve({ code: 'cancelled', messages });
                else
                    resolve({ code: st.code, message: st.details || '', messages });
            });
        });
    }
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    const definition = protoLoader.loadSync('externalscaler.proto', {
        includeDirs: [args.protoDir], keepCase: true, longs: String, defaults: true,
    });
    const pkg = grpc.loadPackageDefinition(definition).externalscaler;
    const client = new pkg.ExternalScaler(args.addr, grpc.credentials.createInsecure());
    const r = new Runner(client, args.deadlineMs, args.waitMs);
    const workloads = [];
    for (const name of args.workloads) {
        const ref = { name, namespace: 'default', scalerMetadata: args.metadata };
        const [spec, first] = await r.spec(ref);
        const metrics = await r.metrics(ref, first);
        const isActive = await r.isActive(ref);
        const stream = await r.stream(ref);
        workloads.push({ name, spec, metrics, isActive, stream });
    }
    client.close();
    process.stdout.write(encode({ workloads }) + '\n');
}

main().catch((err) => {
    process.stderr.write(`client.js: ${err.stack || err}\n`);
    process.exit(1);
});
