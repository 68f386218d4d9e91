// Package loadtest drives SEP-10 against a running anchor serve and measures throughput,
// latency, and the server's CPU time per request and peak RSS (read from /proc).
package loadtest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stellar/go-stellar-sdk/keypair"
	"golang.org/x/time/rate"

	"github.com/anchorkit/anchor/pkg/sep10"
	"github.com/anchorkit/anchor/pkg/stellartoml"
)

// Options of a run.
type Options struct {
	BaseURL  string // e.g. http://127.0.0.1:8000
	Mode     string // challenge, round or kyc-put
	Clients  int
	Duration time.Duration
	// ServerPID, when set, is measured through /proc.
	ServerPID int
	// Replicas are more servers of the same anchor (on one database): the clients are spread
	// over BaseURL and them, each client keeping to one, as behind a load balancer.
	Replicas []string
	// ReplicaPIDs are the replicas' processes, measured with ServerPID.
	ReplicaPIDs []int
	// Rate, when above 0, paces the clients together to this many requests per second (an
	// offered load the same in runs that compare two configurations); 0: as fast as they can.
	Rate float64
	// Server names the server driven in the result: "anchor" when empty.
	Server string
	// NewAccount, when set, is called with each client's account before it starts (e.g. to
	// create it on a Horizon stand-in, so that SEP-10 reads real signers).
	NewAccount func(id string)
}

// Result of a run.
type Result struct {
	Mode          string        `json:"mode"`
	Clients       int           `json:"clients"`
	Requests      int           `json:"requests"`
	Errors        int           `json:"errors"`
	PerSecond     float64       `json:"per_second"`
	P50           time.Duration `json:"p50_ns"`
	P99           time.Duration `json:"p99_ns"`
	CPUPerRequest time.Duration `json:"server_cpu_per_request_ns"`
	// SwitchesPerRequest is the servers' context switches (their threads going to sleep and
	// being woken, or preempted) per request: what each request costs the machine beyond its CPU.
	SwitchesPerRequest float64 `json:"server_switches_per_request"`
	PeakRSSKB          int64   `json:"server_peak_rss_kb"`
	FirstError         string  `json:"first_error"`
	// Server is "anchor", or "sdk-auth" for the benchmarks' baseline (SDKAuth).
	Server string `json:"server"`
}

func (r Result) String() string {
	mode := r.Mode
	if r.Server != "" && r.Server != "anchor" {
		mode += "@" + r.Server
	}
	s := fmt.Sprintf("%-9s clients=%-3d  %8.0f req/s  p50=%-9s p99=%-9s errors=%d",
		mode, r.Clients, r.PerSecond, r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Errors)
	if r.CPUPerRequest > 0 {
		s += fmt.Sprintf("  server_cpu/req=%s  switches/req=%.1f  peak_rss=%.1fMB", r.CPUPerRequest.Round(time.Microsecond), r.SwitchesPerRequest, float64(r.PeakRSSKB)/1024)
	}
	if r.FirstError != "" {
		s += "  first_error=" + r.FirstError
	}
	return s
}

// Run drives the load. In round mode one request is a full round (GET, verify, sign, POST).
func Run(ctx context.Context, o Options) (*Result, error) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.Clients * 2, MaxConnsPerHost: o.Clients * 2}, Timeout: 10 * time.Second}
	f, err := stellartoml.Fetch(ctx, hc, o.BaseURL)
	if err != nil {
		return nil, err
	}
	t, err := stellartoml.Decode(f.Body)
	if err != nil {
		return nil, err
	}
	type target struct {
		u      *url.URL
		client *sep10.Client
	}
	var targets []target
	for _, base := range append([]string{o.BaseURL}, o.Replicas...) {
		u, err := url.Parse(base)
		if err != nil {
			return nil, err
		}
		client := &sep10.Client{HTTP: hc, Endpoint: t.WebAuthEndpoint, ServerKey: t.SigningKey, Network: t.NetworkPassphrase}
		// The load goes to the target even if the toml names a public host.
		if eu, err := url.Parse(t.WebAuthEndpoint); err == nil {
			client.HomeDomain = eu.Host
			client.WebAuthDomain = eu.Host
			eu.Scheme, eu.Host = u.Scheme, u.Host
			client.Endpoint = eu.String()
		}
		targets = append(targets, target{u, client})
	}
	pids := append([]int{o.ServerPID}, o.ReplicaPIDs...)
	cpu0, sw0 := procsCPU(pids), procsSwitches(pids)
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	res := &Result{Mode: o.Mode, Clients: o.Clients, Server: cmp.Or(o.Server, "anchor")}
	var pace *rate.Limiter
	if o.Rate > 0 {
		pace = rate.NewLimiter(rate.Limit(o.Rate), 1)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < o.Clients; i++ {
		wg.Add(1)
		u, client := targets[i%len(targets)].u, targets[i%len(targets)].client
		go func() {
			defer wg.Done()
			kp := keypair.MustRandom()
			if o.NewAccount != nil {
				o.NewAccount(kp.Address())
			}
			local := make([]time.Duration, 0, 4096)
			errs := 0
			var firstErr string
			var put func(n int) error
			if o.Mode == "price" {
				put = func(int) error { return getPrice(ctx, hc, t, u) }
			}
			if o.Mode == "kyc-put" || o.Mode == "deposit" || o.Mode == "kyc-erase" || o.Mode == "kyc-upload" || o.Mode == "interactive" || o.Mode == "flow-page" || o.Mode == "quote" {
				token, err := client.Authenticate(ctx, kp.Address(), nil, kp)
				if err != nil {
					mu.Lock()
					res.Errors++
					res.FirstError = err.Error()
					mu.Unlock()
					return
				}
				put = func(n int) error { return putCustomer(ctx, hc, t.KYCServer, u, token, n) }
				if o.Mode == "deposit" {
					put = func(int) error { return getDeposit(ctx, hc, t.TransferServer, u, token) }
				}
				if o.Mode == "interactive" {
					put = func(int) error { _, err := startInteractive(ctx, hc, t.TransferServerSEP0024, u, token); return err }
				}
				if o.Mode == "quote" {
					put = func(int) error { return postQuote(ctx, hc, t, u, token) }
				}
				if o.Mode == "flow-page" {
					page, err := openFlow(ctx, hc, t.TransferServerSEP0024, u, token)
					if err != nil {
						mu.Lock()
						res.Errors++
						res.FirstError = err.Error()
						mu.Unlock()
						return
					}
					put = func(int) error { return page() }
				}
				if o.Mode == "kyc-upload" {
					put = func(n int) error { return uploadPhotos(ctx, hc, t.KYCServer, u, token, kp.Address(), n) }
				}
				if o.Mode == "kyc-erase" {
					put = func(n int) error { return eraseCycle(ctx, hc, t.KYCServer, u, token, kp.Address(), n) }
				}
			}
			for n := 0; ctx.Err() == nil; n++ {
				if pace != nil && pace.Wait(ctx) != nil {
					break
				}
				t0 := time.Now()
				var err error
				switch o.Mode {
				case "round":
					_, err = client.Authenticate(ctx, kp.Address(), nil, kp)
				case "kyc-put", "deposit", "kyc-erase", "kyc-upload", "interactive", "flow-page", "price", "quote":
					err = put(n)
				default:
					_, err = client.Challenge(ctx, kp.Address(), nil, "")
				}
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			res.Errors += errs
			if res.FirstError == "" {
				res.FirstError = firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, sw1 := procsCPU(pids), procsSwitches(pids)
	res.Requests = len(lat)
	res.PerSecond = float64(len(lat)) / elapsed.Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if n := len(lat); n > 0 {
		res.P50 = lat[n/2]
		res.P99 = lat[n*99/100]
	}
	if o.ServerPID > 0 && res.Requests > 0 {
		res.CPUPerRequest = (cpu1 - cpu0) / time.Duration(res.Requests)
		// A thread that ended during the run takes its count with it: never below zero.
		res.SwitchesPerRequest = float64(max(sw1-sw0, 0)) / float64(res.Requests)
		for _, pid := range pids {
			res.PeakRSSKB = max(res.PeakRSSKB, procPeakRSS(pid))
		}
	}
	return res, nil
}

// firstToken is the SEP-38 id of the toml's first currency.
func firstToken(t *stellartoml.StellarTOML) string {
	if len(t.Currencies) == 0 {
		return ""
	}
	return "stellar:" + t.Currencies[0].Code + ":" + t.Currencies[0].Issuer
}

// getPrice asks SEP-38 for the indicative price of 100 EUR in the first token (no token: GET
// /price is public).
func getPrice(ctx context.Context, hc *http.Client, t *stellartoml.StellarTOML, base *url.URL) error {
	q := url.Values{"sell_asset": {"iso4217:EUR"}, "buy_asset": {firstToken(t)}, "sell_amount": {"100"}, "context": {"sep6"}}
	return send(ctx, hc, http.MethodGet, at(t.AnchorQuoteServer, base)+"/price?"+q.Encode(), "", "", nil, http.StatusOK)
}

// postQuote asks SEP-38 for a firm quote (stored before it is answered).
func postQuote(ctx context.Context, hc *http.Client, t *stellartoml.StellarTOML, base *url.URL, token string) error {
	body := `{"sell_asset":"iso4217:EUR","buy_asset":"` + firstToken(t) + `","sell_amount":"100","sell_delivery_method":"SEPA","context":"sep6"}`
	return send(ctx, hc, http.MethodPost, at(t.AnchorQuoteServer, base)+"/quote", "application/json", token, strings.NewReader(body), http.StatusCreated)
}

// putCustomer sends PUT /customer with 10 SEP-9 fields as JSON; n changes one value, so that
// every request is a write.
func putCustomer(ctx context.Context, hc *http.Client, kycServer string, base *url.URL, token string, n int) error {
	body := fmt.Sprintf(`{"type":"sep6-deposit","first_name":"Jane","last_name":"Doe","email_address":"jane%d@example.com",`+
		`"mobile_number":"+14155552671","birth_date":"1990-01-02","address_country_code":"USA","city":"Springfield",`+
		`"postal_code":"12345","address":"1 Main Street","occupation":"2511"}`, n)
	return send(ctx, hc, http.MethodPut, at(kycServer, base)+"/customer", "application/json", token, strings.NewReader(body), http.StatusAccepted)
}

// at returns endpoint (from the stellar.toml) on the scheme and host the run targets.
func at(endpoint string, base *url.URL) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return endpoint
	}
	u.Scheme, u.Host = base.Scheme, base.Host
	return u.String()
}

// send makes one request (authenticated when token is set) and checks its status, discarding
// the body.
func send(ctx context.Context, hc *http.Client, method, target, ctype, token string, body io.Reader, want int) error {
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s", method, req.URL.Path, resp.Status)
	}
	return nil
}

// photo is a 4 MB body that sniffs as PNG and does not compress, made on first use: made at
// package init it cost every anchor command 50 ms and 8 MB at start.
var photo = sync.OnceValue(func() []byte {
	b := make([]byte, 4<<20)
	rand.Read(b)
	return append([]byte("\x89PNG\r\n\x1a\n"), b...)
})

// uploadPhotos sends PUT /customer as multipart with two 4 MB photos for a new memo, then
// erases that customer (so that the database stays small whatever the run's length).
func uploadPhotos(ctx context.Context, hc *http.Client, kycServer string, base *url.URL, token, account string, n int) error {
	kyc := at(kycServer, base)
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("memo", strconv.Itoa(n+1))
		mw.WriteField("first_name", "Jane")
		for _, f := range []string{"photo_id_front", "photo_id_back"} {
			part, err := mw.CreateFormFile(f, f+".png")
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := part.Write(photo()); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	if err := send(ctx, hc, http.MethodPut, kyc+"/customer", mw.FormDataContentType(), token, pr, http.StatusAccepted); err != nil {
		pr.CloseWithError(err)
		return err
	}
	return send(ctx, hc, http.MethodDelete, kyc+"/customer/"+account, "application/json", token, strings.NewReader(`{"memo":"`+strconv.Itoa(n+1)+`"}`), http.StatusOK)
}

// eraseCycle creates a customer (a new memo of the account each time) and erases it: one
// PUT /customer and one DELETE /customer/{account}.
func eraseCycle(ctx context.Context, hc *http.Client, kycServer string, base *url.URL, token, account string, n int) error {
	kyc, memo := at(kycServer, base), strconv.Itoa(n+1)
	if err := send(ctx, hc, http.MethodPut, kyc+"/customer", "application/json", token,
		strings.NewReader(`{"memo":"`+memo+`","first_name":"Jane","last_name":"Doe","email_address":"jane@example.com"}`), http.StatusAccepted); err != nil {
		return err
	}
	return send(ctx, hc, http.MethodDelete, kyc+"/customer/"+account, "application/json", token, strings.NewReader(`{"memo":"`+memo+`"}`), http.StatusOK)
}

// getDeposit sends GET /deposit, which creates a transaction (a durable write).
func getDeposit(ctx context.Context, hc *http.Client, transferServer string, base *url.URL, token string) error {
	tu, err := url.Parse(transferServer)
	if err != nil {
		return err
	}
	tu.Scheme, tu.Host = base.Scheme, base.Host
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, tu.String()+"/deposit?asset_code=USDX&amount=100&lang=en", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /deposit: %s", resp.Status)
	}
	return nil
}

// procsCPU is the CPU time of the processes together.
func procsCPU(pids []int) time.Duration {
	var sum time.Duration
	for _, pid := range pids {
		c, _ := procCPU(pid)
		sum += c
	}
	return sum
}

// procCPU returns user+system CPU time of pid from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	fields := strings.Fields(s[i+2:])
	// After ")": state is field 3; utime is field 14, stime 15 (1-based over the whole line).
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	const clkTck = 100 // sysconf(_SC_CLK_TCK) on Linux
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// procsSwitches is the context switches of the processes' threads together, voluntary and not
// (a process's own /proc/PID/status counts its first thread's only).
func procsSwitches(pids []int) int64 {
	var n int64
	for _, pid := range pids {
		if pid <= 0 {
			continue
		}
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, t := range tasks {
			n += threadSwitches(pid, t.Name())
		}
	}
	return n
}

// threadSwitches is the context switches of one thread, from /proc/PID/task/TID/status (0 when
// the thread has ended).
func threadSwitches(pid int, tid string) int64 {
	return statusSum(fmt.Sprintf("/proc/%d/task/%s/status", pid, tid), func(key string) bool {
		return strings.HasSuffix(key, "ctxt_switches") // voluntary and not
	})
}

// statusSum is the sum of the leading numbers of the fields of a /proc status file whose key
// keep takes (0 when the file is gone).
func statusSum(path string, keep func(key string) bool) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var n int64
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && keep(k) {
			if f := strings.Fields(v); len(f) > 0 {
				c, _ := strconv.ParseInt(f[0], 10, 64)
				n += c
			}
		}
	}
	return n
}

// procPeakRSS returns VmHWM of pid in KB.
func procPeakRSS(pid int) int64 {
	return statusSum(fmt.Sprintf("/proc/%d/status", pid), func(key string) bool { return key == "VmHWM" })
}

// startInteractive starts a SEP-24 deposit (POST /transactions/deposit/interactive) and returns
// the interactive URL on the host the run targets.
func startInteractive(ctx context.Context, hc *http.Client, server string, base *url.URL, token string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, at(server, base)+"/transactions/deposit/interactive", strings.NewReader(`{"asset_code":"USDX"}`))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	var out struct{ URL string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	return at(out.URL, base), nil
}

// openFlow starts a SEP-24 deposit, opens its interactive URL as a browser does (the token
// exchanged for the session cookie), and returns a function that loads the flow's page (the
// KYC form, rendered anew each time).
func openFlow(ctx context.Context, hc *http.Client, server string, base *url.URL, token string) (func() error, error) {
	link, err := startInteractive(ctx, hc, server, base, token)
	if err != nil {
		return nil, err
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Transport: hc.Transport, Jar: jar, Timeout: hc.Timeout}
	resp, err := browser.Get(link)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("open the interactive URL: status %d", resp.StatusCode)
	}
	page := resp.Request.URL.String()
	return func() error { return send(ctx, browser, http.MethodGet, page, "", token, nil, http.StatusOK) }, nil
}
