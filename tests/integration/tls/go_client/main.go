// SPDX-License-Identifier: Apache-2.0
// grpc-go TLS client, configured the way KEDA configures its external-scaler client
// (pkg/scalers/external_scaler.go: credentials.NewTLS with the caCert appended to the roots,
// tls.X509KeyPair from tlsClientCert/tlsClientKey, TLS >= 1.2, round_robin). It calls
// GetMetricSpec and prints one JSON line per call (see tls_clients.py for the contract).
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"os"
	"time"
	"unicode"

	pb "kedastral/interop/externalscaler"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const serviceConfig = `{"loadBalancingConfig": [{"round_robin":{}}]}`

// The modern protobuf codec under grpc's name (Debian's grpc-go 1.33 default codec cannot
// marshal protoc-gen-go v1.28 messages); same wire format as KEDA's grpc-go.
type codecV2 struct{}

func (codecV2) Marshal(v interface{}) ([]byte, error) { return proto.Marshal(v.(proto.Message)) }
func (codecV2) Unmarshal(data []byte, v interface{}) error {
	return proto.Unmarshal(data, v.(proto.Message))
}
func (codecV2) Name() string { return "proto" }

func init() { encoding.RegisterCodec(codecV2{}) }

// "DeadlineExceeded" -> "DEADLINE_EXCEEDED", the spelling the other two clients print.
func codeName(camel string) string {
	out := []rune{}
	for i, r := range camel {
		if i > 0 && unicode.IsUpper(r) {
			out = append(out, '_')
		}
		out = append(out, unicode.ToUpper(r))
	}
	return string(out)
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go_client: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	addr := flag.String("addr", "", "host:port")
	caFile := flag.String("ca", "", "PEM CA the server certificate must chain to (caCert)")
	certFile := flag.String("cert", "", "client certificate (tlsClientCert)")
	keyFile := flag.String("key", "", "client key (tlsClientKey)")
	serverName := flag.String("server-name", "localhost", "name the server certificate must carry")
	plaintext := flag.Bool("plaintext", false, "h2c instead of TLS")
	workload := flag.String("workload", "demo-api", "ScaledObject name")
	calls := flag.Int("calls", 1, "calls on the one connection")
	pause := flag.Bool("pause", false, "after each call but the last, wait for a line on stdin")
	flag.Parse()
	if *addr == "" {
		fail("--addr is required")
	}

	var creds grpc.DialOption
	if *plaintext {
		creds = grpc.WithInsecure()
	} else {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: *serverName}
		if *caFile != "" {
			pem, err := ioutil.ReadFile(*caFile)
			if err != nil {
				fail("%v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				fail("no certificate in %s", *caFile)
			}
			cfg.RootCAs = pool
		}
		if *certFile != "" {
			pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
			if err != nil {
				fail("%v", err)
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		creds = grpc.WithTransportCredentials(credentials.NewTLS(cfg))
	}
	conn, err := grpc.Dial(*addr, creds, grpc.WithDefaultServiceConfig(serviceConfig))
	if err != nil {
		fail("dial: %v", err)
	}
	defer conn.Close()
	client := pb.NewExternalScalerClient(conn)
	stdin := bufio.NewReader(os.Stdin)
	out := json.NewEncoder(os.Stdout)

	for i := 1; i <= *calls; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var p peer.Peer
		resp, err := client.GetMetricSpec(ctx,
			&pb.ScaledObjectRef{Name: *workload, Namespace: "default"}, grpc.Peer(&p))
		cancel()
		line := map[string]interface{}{"client": "grpc-go", "call": i}
		if err != nil {
			st, _ := status.FromError(err)
			line["ok"] = false
			line["code"] = codeName(st.Code().String())
			line["error"] = st.Message()
		} else {
			line["ok"] = true
			if len(resp.MetricSpecs) > 0 {
				line["metric"] = resp.MetricSpecs[0].MetricName
			}
			if info, ok := p.AuthInfo.(credentials.TLSInfo); ok {
				line["alpn"] = info.State.NegotiatedProtocol
				if n := len(info.State.PeerCertificates); n > 0 {
					line["issuer"] = info.State.PeerCertificates[0].Issuer.CommonName
				}
			}
		}
		out.Encode(line)
		if *pause && i < *calls {
			if _, err := stdin.ReadString('\n'); err != nil {
				fail("stdin: %v", err)
			}
		}
	}
}
