// SPDX-License-Identifier: Apache-2.0
// grpc-go interop client: calls the External Scaler the way KEDA does (grpc.Dial, insecure,
// round_robin service config, protoc-gen-go + protoc-gen-go-grpc stubs) and prints the
// canonical JSON document shared with the C-core and grpc-js clients (see run_interop.py).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	pb "kedastral/interop/externalscaler"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// KEDA's own dial options (pkg/scalers/external_scaler.go).
const serviceConfig = `{"loadBalancingConfig": [{"round_robin":{}}]}`

// grpc-go >= 1.60 (what KEDA ships) marshals with google.golang.org/protobuf directly. grpc-go
// 1.33's default codec goes through github.com/golang/protobuf, which Debian may provide as the
// 1.3 API that cannot handle protoc-gen-go v1.28 messages, so register the modern codec under
// the same name: the wire format and content-type are unchanged.
type codecV2 struct{}

func (codecV2) Marshal(v interface{}) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("codec: %T is not a proto.Message", v)
	}
	return proto.Marshal(m)
}

func (codecV2) Unmarshal(data []byte, v interface{}) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("codec: %T is not a proto.Message", v)
	}
	return proto.Unmarshal(data, m)
}

func (codecV2) Name() string { return "proto" }

func init() {
	encoding.RegisterCodec(codecV2{})
}

// raw is an already-serialised JSON token (canonical floats, int64 digits).
type raw string

type object map[string]interface{}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// formatFloat prints the shortest round-trip digits in the layout all three clients share:
// fixed notation with at least one fractional digit for exponents -7..20, else d.ddde±X.
func formatFloat(f float64) raw {
	switch {
	case math.IsNaN(f):
		return `"NaN"`
	case math.IsInf(f, 1):
		return `"Infinity"`
	case math.IsInf(f, -1):
		return `"-Infinity"`
	}
	s := strconv.FormatFloat(math.Abs(f), 'e', -1, 64)
	e := strings.IndexByte(s, 'e')
	exp, _ := strconv.Atoi(s[e+1:])
	digits := strings.Replace(s[:e], ".", "", 1)
	return raw(canonicalNumber(math.Signbit(f), digits, exp))
}

func canonicalNumber(neg bool, digits string, exp int) string {
	digits = strings.TrimRight(digits, "0")
	if digits == "" {
		digits, exp = "0", 0
	}
	var out string
	if exp >= -7 && exp < 21 {
		if exp >= 0 {
			for len(digits) < exp+1 {
				digits += "0"
			}
			frac := digits[exp+1:]
			if frac == "" {
				frac = "0"
			}
			out = digits[:exp+1] + "." + frac
		} else {
			out = "0." + strings.Repeat("0", -exp-1) + digits
		}
	} else {
		frac := digits[1:]
		if frac == "" {
			frac = "0"
		}
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		out = digits[:1] + "." + frac + "e" + sign + strconv.Itoa(exp)
	}
	if neg {
		out = "-" + out
	}
	return out
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20 || r >= 0x7f:
			if r > 0xffff {
				r -= 0x10000
				fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func encode(b *strings.Builder, v interface{}) {
	switch x := v.(type) {
	case raw:
		b.WriteString(string(x))
	case string:
		b.WriteString(quote(x))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case []interface{}:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			encode(b, e)
		}
		b.WriteByte(']')
	case object:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quote(k))
			b.WriteByte(':')
			encode(b, x[k])
		}
		b.WriteByte('}')
	default:
		panic(fmt.Sprintf("encode: unsupported %T", v))
	}
}

func failure(err error) object {
	st := status.Convert(err)
	return object{"code": int(st.Code()), "message": st.Message()}
}

type runner struct {
	client   pb.ExternalScalerClient
	deadline time.Duration
	wait     time.Duration
}

func (r *runner) ctx() (context.Context, context.CancelFunc) {
	if r.deadline > 0 {
		return context.WithTimeout(context.Background(), r.deadline)
	}
	return context.WithCancel(context.Background())
}

func (r *runner) spec(ref *pb.ScaledObjectRef) (object, string) {
	ctx, cancel := r.ctx()
	defer cancel()
	resp, err := r.client.GetMetricSpec(ctx, ref)
	if err != nil {
		return failure(err), ""
	}
	specs := []interface{}{}
	for _, s := range resp.GetMetricSpecs() {
		specs = append(specs, object{
			"metricName":      s.GetMetricName(),
			"targetSize":      raw(strconv.FormatInt(s.GetTargetSize(), 10)),
			"targetSizeFloat": formatFloat(s.GetTargetSizeFloat()),
		})
	}
	first := ""
	if len(resp.GetMetricSpecs()) > 0 {
		first = resp.GetMetricSpecs()[0].GetMetricName()
	}
	return object{"code": 0, "specs": specs}, first
}

func (r *runner) metrics(ref *pb.ScaledObjectRef, name string) object {
	ctx, cancel := r.ctx()
	defer cancel()
	req := &pb.GetMetricsRequest{ScaledObjectRef: ref, MetricName: name}
	resp, err := r.client.GetMetrics(ctx, req)
	if err != nil {
		return failure(err)
	}
	values := []interface{}{}
	for _, v := range resp.GetMetricValues() {
		values = append(values, object{
			"metricName":       v.GetMetricName(),
			"metricValue":      raw(strconv.FormatInt(v.GetMetricValue(), 10)),
			"metricValueFloat": formatFloat(v.GetMetricValueFloat()),
		})
	}
	return object{"code": 0, "values": values}
}

func (r *runner) isActive(ref *pb.ScaledObjectRef) object {
	ctx, cancel := r.ctx()
	defer cancel()
	resp, err := r.client.IsActive(ctx, ref)
	if err != nil {
		return failure(err)
	}
	return object{"code": 0, "result": resp.GetResult()}
}

type event struct {
	result bool
	err    error
}

// stream keeps StreamIsActive open for r.wait like KEDA's push loop, then cancels it.
func (r *runner) stream(ref *pb.ScaledObjectRef) object {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	messages := []interface{}{}
	st, err := r.client.StreamIsActive(ctx, ref)
	if err != nil {
		out := failure(err)
		out["messages"] = messages
		return out
	}
	events := make(chan event, 16)
	go func() {
		for {
			m, err := st.Recv()
			if err != nil {
				events <- event{err: err}
				return
			}
			events <- event{result: m.GetResult()}
		}
	}()
	timer := time.NewTimer(r.wait)
	defer timer.Stop()
	cancelled := false
	for {
		select {
		case ev := <-events:
			if ev.err == nil {
				if !cancelled {
					messages = append(messages, ev.result)
				}
				continue
			}
			switch {
			case ev.err == io.EOF:
				return object{"code": 0, "messages": messages}
			case cancelled && status.Code(ev.err) == codes.Canceled:
				return object{"code": "cancelled", "messages": messages}
			}
			out := failure(ev.err)
			out["messages"] = messages
			return out
		case <-timer.C:
			cancelled = true
			cancel()
		}
	}
}

func main() {
	addr := flag.String("addr", "", "server address host:port")
	waitMs := flag.Int("stream-wait-ms", 1500, "how long to collect StreamIsActive messages")
	deadlineMs := flag.Int("deadline-ms", 0,
		"deadline of each unary call (0: none, like KEDA's poll loop)")
	var workloads, metadata listFlag
	flag.Var(&workloads, "workload", "workload name (repeatable)")
	flag.Var(&metadata, "metadata", "scalerMetadata entry k=v (repeatable)")
	flag.Parse()
	if *addr == "" || len(workloads) == 0 || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: interop-go-client --addr HOST:PORT --workload NAME... "+
			"[--metadata k=v...] [--stream-wait-ms N] [--deadline-ms N]")
		os.Exit(2)
	}
	meta := map[string]string{}
	for _, kv := range metadata {
		i := strings.IndexByte(kv, '=')
		if i <= 0 {
			fmt.Fprintf(os.Stderr, "interop-go-client: --metadata %q is not k=v\n", kv)
			os.Exit(2)
		}
		meta[kv[:i]] = kv[i+1:]
	}

	conn, err := grpc.Dial(*addr, grpc.WithInsecure(), grpc.WithDefaultServiceConfig(serviceConfig))
	if err != nil {
		fmt.Fprintf(os.Stderr, "interop-go-client: dial %s: %v\n", *addr, err)
		os.Exit(1)
	}
	defer conn.Close()
	r := &runner{
		client:   pb.NewExternalScalerClient(conn),
		deadline: time.Duration(*deadlineMs) * time.Millisecond,
		wait:     time.Duration(*waitMs) * time.Millisecond,
	}
	results := []interface{}{}
	for _, w := range workloads {
		ref := &pb.ScaledObjectRef{Name: w, Namespace: "default", ScalerMetadata: meta}
		spec, first := r.spec(ref)
		metrics := r.metrics(ref, first)
		active := r.isActive(ref)
		stream := r.stream(ref)
		results = append(results, object{
			"name": w, "spec": spec, "metrics": metrics, "isActive": active, "stream": stream,
		})
	}
	var b strings.Builder
	encode(&b, object{"workloads": results})
	fmt.Println(b.String())
}
