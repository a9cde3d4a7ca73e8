// SPDX-License-Identifier: Apache-2.0
// grpc-go programs for bench/, one binary (bench-go-server):
//   - by default the reference server: the External Scaler answering one fixed value with no
//     I/O (GetMetrics: the metric name echoed, value 3; IsActive: true), so a benchmark compares
//     transports, not forecasts. Prints its port on stdout.
//   - with -warm, the warm-up client for bench/workloads.sh: GetMetrics for workloads
//     PREFIX<from> .. PREFIX<from+n-1>, each once, -c calls in flight over -conns connections;
//     exits 1 unless every call answered OK with one metric value. Prints the count and rate.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	pb "kedastral/interop/externalscaler"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/proto"
)

// The modern codec under grpc-go's default name, as in tests/integration/interop/go_client.
type codecV2 struct{}

func (codecV2) Marshal(v interface{}) ([]byte, error) { return proto.Marshal(v.(proto.Message)) }

func (codecV2) Unmarshal(data []byte, v interface{}) error {
	return proto.Unmarshal(data, v.(proto.Message))
}

func (codecV2) Name() string { return "proto" }

func init() {
	encoding.RegisterCodec(codecV2{})
}

type scaler struct {
	pb.UnimplementedExternalScalerServer
}

func (scaler) IsActive(ctx context.Context, ref *pb.ScaledObjectRef) (*pb.IsActiveResponse, error) {
	return &pb.IsActiveResponse{Result: true}, nil
}

func (scaler) GetMetrics(ctx context.Context, req *pb.GetMetricsRequest) (*pb.GetMetricsResponse, error) {
	return &pb.GetMetricsResponse{MetricValues: []*pb.MetricValue{
		{MetricName: req.MetricName, MetricValue: 3, MetricValueFloat: 3},
	}}, nil
}

func serve(addr string) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := grpc.NewServer()
	pb.RegisterExternalScalerServer(s, scaler{})
	fmt.Println(lis.Addr().(*net.TCPAddr).Port)
	if err := s.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// warmUp asks the scaler at addr about each workload once.
func warmUp(addr string, n, from int, prefix string, conc, conns int) {

	clients := make([]pb.ExternalScalerClient, conns)
	for i := range clients {
		cc, err := grpc.Dial(addr, grpc.WithInsecure())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer cc.Close()
		clients[i] = pb.NewExternalScalerClient(cc)
	}
	var next, failed int64 = int64(from) - 1, 0
	last := int64(from + n)
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func(c pb.ExternalScalerClient) {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= last {
					return
				}
				w := fmt.Sprintf("%s%d", prefix, i)
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
		}(clients[g%conns])
	}
	wg.Wait()
	s := time.Since(start).Seconds()
	fmt.Printf("warmed %d workloads in %.1f s (%.0f calls/s), %d failed\n", n, s, float64(n)/s, failed)
	if failed > 0 {
		fmt.Fprintln(os.Stderr, "first error:", first)
		os.Exit(1)
	}
}

func main() {
	warm := flag.Bool("warm", false, "run the warm-up client instead of the server")
	listen := flag.String("listen", "127.0.0.1:0", "server: address to listen on")
	addr := flag.String("addr", "127.0.0.1:50051", "warm: scaler address")
	n := flag.Int("n", 1000, "warm: workloads")
	from := flag.Int("from", 0, "warm: first index")
	prefix := flag.String("prefix", "w-", "warm: workload name prefix")
	conc := flag.Int("c", 64, "warm: calls in flight")
	conns := flag.Int("conns", 4, "warm: connections")
	flag.Parse()
	if *warm {
		warmUp(*addr, *n, *from, *prefix, *conc, *conns)
		return
	}
	serve(*listen)
}
