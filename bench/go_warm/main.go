// SPDX-License-Identifier: Apache-2.0
// Warm-up client for bench/workloads.sh: GetMetrics for workloads PREFIX0 .. PREFIX(N-1), each
// once, CONC calls in flight over CONNS connections; exits 1 unless every call answered OK
// with one metric value. Prints the count and the rate.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	pb "kedastral/interop/externalscaler"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/proto"
)

type codecV2 struct{}

func (codecV2) Marshal(v interface{}) ([]byte, error) { return proto.Marshal(v.(proto.Message)) }

func (codecV2) Unmarshal(data []byte, v interface{}) error {
	return proto.Unmarshal(data, v.(proto.Message))
}

func (codecV2) Name() string { return "proto" }

func init() {
	encoding.RegisterCodec(codecV2{})
}

func main() {
	addr := flag.String("addr", "127.0.0.1:50051", "scaler address")
	n := flag.Int("n", 1000, "workloads")
	from := flag.Int("from", 0, "first index")
	prefix := flag.String("prefix", "w-", "workload name prefix")
	conc := flag.Int("c", 64, "calls in flight")
	conns := flag.Int("conns", 4, "connections")
	flag.Parse()

	clients := make([]pb.ExternalScalerClient, *conns)
	for i := range clients {
		cc, err := grpc.Dial(*addr, grpc.WithInsecure())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer cc.Close()
		clients[i] = pb.NewExternalScalerClient(cc)
	}
	var next, failed int64 = int64(*from) - 1, 0
	last := int64(*from + *n)
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < *conc; g++ {
		wg.Add(1)
		go func(c pb.ExternalScalerClient) {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= last {
					return
				}
				w := fmt.Sprintf("%s%d", *prefix, i)
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				resp, err := c.GetMetrics(ctx, &pb.GetMetricsRequest{
					ScaledObjectRef: &pb.ScaledObjectRef{Name: w, Namespace: "default",
						ScalerMetadata: map[string]string{"workload": w}},
					MetricName: "kedastral-" + w + "-desired-replicas",
				})
				cancel()
				if err == nil && len(resp.MetricValues) != 1 {
					err = fmt.Errorf("%s: %d metric values", w, len(resp.MetricValues))
				}
				if err != nil {
					atomic.AddInt64(&failed, 1)
					once.Do(func() { first = err })
				}
			}
		}(clients[g%*conns])
	}
	wg.Wait()
	s := time.Since(start).Seconds()
	fmt.Printf("warmed %d workloads in %.1f s (%.0f calls/s), %d failed\n", *n, s, float64(*n)/s, failed)
	if failed > 0 {
		fmt.Fprintln(os.Stderr, "first error:", first)
		os.Exit(1)
	}
}
