package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/anchorkit/anchor/internal/apikey"
	"github.com/anchorkit/anchor/internal/httpx"
)

// Keys is what `anchor apikey` needs; *apikey.Service and *Client implement it.
type Keys interface {
	Create(ctx context.Context, name string, role apikey.Role, ttl time.Duration, by string) (*apikey.Created, error)
	List(ctx context.Context) ([]apikey.Key, error)
	Revoke(ctx context.Context, nameOrID, by string) (*apikey.Key, error)
}

var (
	_ Keys = (*apikey.Service)(nil)
	_ Keys = (*KeysClient)(nil)
)

// KeyRequest is the body of POST /v1/apikeys.
type KeyRequest struct {
	Name string        `json:"name"`
	Role apikey.Role   `json:"role"`
	TTL  time.Duration `json:"ttl"`
	By   string        `json:"by"`
}

// mountKeys adds the key endpoints, which need RoleOwner (RoleOf).
func mountKeys(mux mux, keys *apikey.Service) {
	mux.HandleFunc("GET /v1/apikeys", func(w http.ResponseWriter, r *http.Request) {
		out, err := keys.List(r.Context())
		if out == nil {
			out = []apikey.Key{}
		}
		reply(w, r, out, err)
	})
	mux.HandleFunc("POST /v1/apikeys", func(w http.ResponseWriter, r *http.Request) {
		var req KeyRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
			httpx.Error(w, http.StatusBadRequest, "body is not a key request")
			return
		}
		out, err := keys.Create(r.Context(), req.Name, req.Role, req.TTL, Actor(r.Context(), req.By))
		reply(w, r, out, err)
	})
	mux.HandleFunc("POST /v1/apikeys/{key}/revoke", func(w http.ResponseWriter, r *http.Request) {
		out, err := keys.Revoke(r.Context(), r.PathValue("key"), Actor(r.Context(), r.URL.Query().Get("by")))
		reply(w, r, out, err)
	})
}

// KeysClient manages keys through a running server's socket.
type KeysClient struct{ *Client }

// Create implements Keys.
func (c KeysClient) Create(ctx context.Context, name string, role apikey.Role, ttl time.Duration, by string) (*apikey.Created, error) {
	var out apikey.Created
	if err := c.do(ctx, "POST", "/v1/apikeys", KeyRequest{Name: name, Role: role, TTL: ttl, By: by}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// List implements Keys.
func (c KeysClient) List(ctx context.Context) ([]apikey.Key, error) {
	var out []apikey.Key
	err := c.do(ctx, "GET", "/v1/apikeys", nil, &out)
	return out, err
}

// Revoke implements Keys.
func (c KeysClient) Revoke(ctx context.Context, nameOrID, by string) (*apikey.Key, error) {
	var out apikey.Key
	if err := c.do(ctx, "POST", "/v1/apikeys/"+url.PathEscape(nameOrID)+"/revoke?by="+url.QueryEscape(by), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
