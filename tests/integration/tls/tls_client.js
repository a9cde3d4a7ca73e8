// SPDX-License-Identifier: Apache-2.0
// grpc-js TLS client: GetMetricSpec over TLS (optionally mTLS), one JSON line per call. Same
// command line as go_client/main.go and tls_client.py (see tls_clients.py). @grpc/grpc-js
// and @grpc/proto-loader come from tests/integration/node/node_modules (NODE_PATH).
'use strict';

const fs = require('fs');
const readline = require('readline');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

function parseArgs(argv) {
    const a = {
        addr: '', ca: '', cert: '', key: '', serverName: 'localhost', plaintext: false,
        workload: 'demo-api', calls: 1, pause: false, protoDir: process.env.KD_PROTO_DIR,
    };
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const next = () => {
            if (i + 1 >= argv.length)
                throw new Error(`${flag} needs a value`);
            return argv[++i];
        };
        switch (flag) {
        case '--addr': a.addr = next(); break;
        case '--ca': a.ca = next(); break;
        case '--cert': a.cert = next(); break;
        case '--key': a.key = next(); break;
        case '--server-name': a.serverName = next(); break;
        case '--plaintext': a.plaintext = true; break;
        case '--workload': a.workload = next(); break;
        case '--calls': a.calls = Number.parseInt(next(), 10); break;
        case '--pause': a.pause = true; break;
        case '--proto-dir': a.protoDir = next(); break;
        default: throw new Error(`unknown option ${flag}`);
        }
    }
    if (!a.addr || !a.protoDir)
        throw new Error('--addr and --proto-dir (or KD_PROTO_DIR) are required');
    return a;
}

function credentials(a) {
    if (a.plaintext)
        return grpc.credentials.createInsecure();
    const read = (f) => (f ? fs.readFileSync(f) : null);
    return grpc.credentials.createSsl(read(a.ca), read(a.key), read(a.cert));
}

async function main() {
    const a = parseArgs(process.argv.slice(2));
    const definition = protoLoader.loadSync('externalscaler.proto', {
        includeDirs: [a.protoDir], keepCase: true, longs: String, defaults: true,
    });
    const pkg = grpc.loadPackageDefinition(definition).externalscaler;
    const client = new pkg.ExternalScaler(a.addr, credentials(a), {
        'grpc.ssl_target_name_override': a.serverName,
        'grpc.default_authority': a.serverName,
    });
    const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

    for (let i = 1; i <= a.calls; i++) {
        const line = await new Promise((resolve) => {
            client.GetMetricSpec({ name: a.workload, namespace: 'default' },
                { deadline: Date.now() + 10000 }, (err, resp) => {
                    if (err)
                        resolve({ client: 'grpc-js', call: i, ok: false,
                                  code: grpc.status[err.code], error: err.details || '' });
                    else
                        resolve({ client: 'grpc-js', call: i, ok: true,
                                  metric: (resp.metricSpecs[0] || {}).metricName });
                });
        });
        process.stdout.write(JSON.stringify(line) + '\n');
        if (a.pause && i < a.calls)
            await lines.next();
    }
    client.close();
    process.exit(0);
}

main().catch((err) => {
    process.stderr.write(`tls_client.js: ${err.stack || err}\n`);
    process.exit(2);
});
