// SPDX-License-Identifier: Apache-2.0
// grpc-go reference server for bench/: the External Scaler answering one fixed value with no
// I/O (GetMetrics: the metric name echoed, value 3; IsActive: true), so a benchmark compares
// transports, not forecasts. Prints its port on stdout.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"

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

func main() {
	addr := flag.String("listen", "127.0.0.1:0", "address")
	flag.Parse()
	lis, err := net.Listen("tcp", *addr)
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
