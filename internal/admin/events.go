package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/anchorkit/anchor/internal/events"
	"github.com/anchorkit/anchor/internal/fault"
	"github.com/anchorkit/anchor/internal/httpx"
	"github.com/anchorkit/anchor/internal/views"
)

// Events is what `anchor events` needs; an events.Store (the store) and *EventsClient
// implement it.
type Events interface {
	EventsAfter(ctx context.Context, after uint64, limit int) ([]events.Event, error)
	FailedDeliveries(ctx context.Context) ([]events.Delivery, error)
	Redeliver(ctx context.Context, eventID uint64, now time.Time) (int, error)
	FeedStats(ctx context.Context, endpoint string) (events.FeedStats, error)
}

var (
	_ Events = (events.Store)(nil)
	_ Events = EventsClient{}
)

// maxWait bounds a long poll of GET /v1/events.
const maxWait = 60 * time.Second

// RedeliverRequest is the body of POST /v1/events/redeliver: an event (its dead letters, and a
// new delivery to each webhook that has sent it; events.Store.Redeliver), or every dead letter.
type RedeliverRequest struct {
	EventID uint64 `json:"event_id,omitempty"`
	All     bool   `json:"all,omitempty"`
}

// mountEvents adds GET /v1/events (after=ID, limit=N, wait=30s: a long poll that answers as
// soon as there is an event), GET /v1/events/failed, POST /v1/events/redeliver and GET
// /v1/events/webhooks/{name} (a webhook's backlog).
func mountEvents(mux mux, st events.Store) {
	mux.HandleFunc("GET /v1/events/webhooks/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		s, err := st.FeedStats(r.Context(), name)
		reply(w, r, views.NewWebhook(name, s.Behind, s.Oldest, s.Retrying, s.Dead), err)
	})
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		after, err := strconv.ParseUint(q.Get("after"), 10, 64)
		if q.Get("after") == "" {
			after, err = 0, nil
		}
		if err != nil {
			httpx.Error(w, http.StatusBadRequest, "after "+strconv.Quote(q.Get("after"))+" is not an event id")
			return
		}
		limit := 100
		if l := q.Get("limit"); l != "" {
			if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > 1000 {
				httpx.Error(w, http.StatusBadRequest, "limit "+strconv.Quote(l)+": give 1 to 1000")
				return
			}
		}
		var wait time.Duration
		if v := q.Get("wait"); v != "" {
			if wait, err = time.ParseDuration(v); err != nil || wait < 0 || wait > maxWait {
				httpx.Error(w, http.StatusBadRequest, "wait "+strconv.Quote(v)+": give a duration up to 60s")
				return
			}
		}
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait + 30*time.Second))
		deadline := time.Now().Add(wait)
		for {
			evs, err := st.EventsAfter(r.Context(), after, limit)
			if err != nil || len(evs) > 0 || !time.Now().Before(deadline) {
				reply(w, r, evs, err)
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
	mux.HandleFunc("GET /v1/events/failed", func(w http.ResponseWriter, r *http.Request) {
		out, err := st.FailedDeliveries(r.Context())
		reply(w, r, out, err)
	})
	mux.HandleFunc("POST /v1/events/redeliver", func(w http.ResponseWriter, r *http.Request) {
		var req RedeliverRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil || (req.EventID == 0) == !req.All {
			httpx.Error(w, http.StatusBadRequest, `give {"event_id": N} or {"all": true}`)
			return
		}
		n, err := st.Redeliver(r.Context(), req.EventID, time.Now())
		if errors.Is(err, fault.ErrNotFound) {
			httpx.Error(w, http.StatusNotFound, fmt.Sprintf("event %d is not in the event log", req.EventID))
			return
		}
		reply(w, r, map[string]int{"redelivered": n}, err)
	})
}

// EventsClient reads events through a running server's socket.
type EventsClient struct{ *Client }

// EventsAfter implements Events.
func (c EventsClient) EventsAfter(ctx context.Context, after uint64, limit int) ([]events.Event, error) {
	var out []events.Event
	err := c.do(ctx, "GET", "/v1/events?"+url.Values{"after": {strconv.FormatUint(after, 10)}, "limit": {strconv.Itoa(limit)}}.Encode(), nil, &out)
	return out, err
}

// FailedDeliveries implements Events.
func (c EventsClient) FailedDeliveries(ctx context.Context) ([]events.Delivery, error) {
	var out []events.Delivery
	err := c.do(ctx, "GET", "/v1/events/failed", nil, &out)
	return out, err
}

// FeedStats implements Events (the oldest event's time to the second, as the view has it).
func (c EventsClient) FeedStats(ctx context.Context, endpoint string) (events.FeedStats, error) {
	var v views.Webhook
	if err := c.do(ctx, "GET", "/v1/events/webhooks/"+url.PathEscape(endpoint), nil, &v); err != nil {
		return events.FeedStats{}, err
	}
	out := events.FeedStats{Behind: v.NotSent, Retrying: v.Retrying, Dead: v.Dead}
	if v.OldestNotSent != nil {
		out.Oldest, _ = time.Parse(time.RFC3339, *v.OldestNotSent)
	}
	return out, nil
}

// Redeliver implements Events.
func (c EventsClient) Redeliver(ctx context.Context, eventID uint64, _ time.Time) (int, error) {
	var out struct {
		N int `json:"redelivered"`
	}
	err := c.do(ctx, "POST", "/v1/events/redeliver", RedeliverRequest{EventID: eventID, All: eventID == 0}, &out)
	return out.N, err
}
