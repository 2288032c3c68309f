package main

import (
	"context"
	"net/http"
	"sort"

	"github.com/nocontact/nocontact/pkg/auth"
	"github.com/nocontact/nocontact/pkg/bus"
	"github.com/nocontact/nocontact/pkg/httpx"
)

// consumerStatus is one durable consumer's progress.
type consumerStatus struct {
	Stream        string `json:"stream"`
	Consumer      string `json:"consumer"`
	Pending       uint64 `json:"pending"`
	AckPending    int    `json:"ack_pending"`
	Redelivered   int    `json:"redelivered"`
	DeliveredSeq  uint64 `json:"delivered_stream_seq"`
	AckFloorSeq   uint64 `json:"ack_floor_stream_seq"`
	StreamLastSeq uint64 `json:"stream_last_seq"`
}

// pipelineStatus answers GET /v1/status: every consumer's progress and
// whether the whole pipeline has processed everything published so far.
type pipelineStatus struct {
	Idle      bool             `json:"idle"`
	Consumers []consumerStatus `json:"consumers"`
}

func statusRoutes(s *server) {
	s.router.HandleFunc("GET /v1/status", []auth.Role{auth.RoleOps, auth.RoleAgent, auth.RoleIngest}, func(w http.ResponseWriter, r *http.Request) {
		st, err := s.pipelineStatus(r.Context())
		if err != nil {
			s.log.Error().Err(err).Msg("status")
			httpx.WriteError(w, httpx.Errorf(http.StatusServiceUnavailable, "unavailable", "", "could not read consumer state"))
			return
		}
		httpx.WriteJSON(w, http.StatusOK, st)
	})
}

// pipelineStatus reads every durable consumer of the installation's
// streams. The pipeline is idle when no consumer has messages pending or
// unacknowledged; clients that must wait for processing (demo, import,
// evaluations) poll it until it is idle twice in a row, because a consumer
// that just finished may publish work for the next one.
func (s *server) pipelineStatus(ctx context.Context) (pipelineStatus, error) {
	out := pipelineStatus{Idle: true, Consumers: []consumerStatus{}}
	for _, base := range []string{bus.StreamContacts, bus.StreamOrders, bus.StreamDefects, bus.StreamSelfService} {
		stream, err := s.bus.JS.Stream(ctx, s.bus.Stream(base))
		if err != nil {
			return out, err
		}
		info, err := stream.Info(ctx)
		if err != nil {
			return out, err
		}
		names := stream.ConsumerNames(ctx)
		for name := range names.Name() {
			c, err := stream.Consumer(ctx, name)
			if err != nil {
				continue
			}
			ci, err := c.Info(ctx)
			if err != nil || ci.Config.Durable == "" {
				continue
			}
			cs := consumerStatus{
				Stream: base, Consumer: name, Pending: ci.NumPending, AckPending: ci.NumAckPending,
				Redelivered: ci.NumRedelivered, DeliveredSeq: ci.Delivered.Stream, AckFloorSeq: ci.AckFloor.Stream,
				StreamLastSeq: info.State.LastSeq,
			}
			if cs.Pending > 0 || cs.AckPending > 0 {
				out.Idle = false
			}
			out.Consumers = append(out.Consumers, cs)
		}
		if err := names.Err(); err != nil {
			return out, err
		}
	}
	sort.Slice(out.Consumers, func(i, j int) bool {
		a, b := out.Consumers[i], out.Consumers[j]
		return a.Stream < b.Stream || a.Stream == b.Stream && a.Consumer < b.Consumer
	})
	return out, nil
}
