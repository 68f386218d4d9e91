package cmd

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/loadtest"
	"github.com/anchorkit/anchor/internal/operator"
	"github.com/anchorkit/anchor/internal/server"
	"github.com/anchorkit/anchor/internal/web"
)

func newDevCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Tools for developing and trying anchor: a scripted wallet, Horizon stand-in, load generator, benchmark, docs",
	}
	cmd.AddCommand(newDevLoadCmd(f), newDevBenchCmd(f), newDevDocsCmd(f), newDevHorizonCmd(f), newDevWalletCmd(f), newDevSDKAuthCmd(f))
	return cmd
}

// DevLoadOptions are the flags of anchor dev load.
type DevLoadOptions struct {
	loadtest.Options
	JSON bool
}

func newDevLoadCmd(f *Factory) *cobra.Command {
	opts := &DevLoadOptions{}
	cmd := &cobra.Command{
		Use:   "load --url URL [--mode challenge|round] [--clients N] [--duration D] [--pid PID]",
		Short: "Drive SEP-10 against a running anchor serve and report rate, latency, CPU and RSS",
		Long: `Drive SEP-10 against a running anchor serve for a fixed time. Mode challenge sends GET /auth;
mode round does full rounds (GET, verify, sign, POST). With --pid, the server's CPU time per
request and peak RSS are read from /proc. Use it on servers you run: it is a load generator.`,
		Example: `  anchor dev load --url http://127.0.0.1:8000 --mode round --clients 64 --duration 10s --pid 1234`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Mode != "challenge" && opts.Mode != "round" && opts.Mode != "kyc-put" && opts.Mode != "deposit" {
				return usageError{fmt.Errorf("--mode %q is not challenge, round, kyc-put or deposit", opts.Mode)}
			}
			if opts.Clients < 1 {
				return usageError{fmt.Errorf("--clients must be at least 1")}
			}
			res, err := loadtest.Run(cmd.Context(), opts.Options)
			if err != nil {
				return err
			}
			if opts.JSON {
				return writeJSON(f.IO.Out, res)
			}
			fmt.Fprintln(f.IO.Out, res.String())
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.BaseURL, "url", "http://127.0.0.1:8000", "base URL of the server")
	cmd.Flags().StringVar(&opts.Mode, "mode", "challenge", "challenge, round, kyc-put (PUT /customer, 10 JSON fields) or deposit (GET /deposit)")
	cmd.Flags().IntVar(&opts.Clients, "clients", 8, "concurrent clients")
	cmd.Flags().DurationVar(&opts.Duration, "duration", 10*time.Second, "how long to run")
	cmd.Flags().IntVar(&opts.ServerPID, "pid", 0, "server process id to measure through /proc")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func newDevBenchCmd(f *Factory) *cobra.Command {
	var duration time.Duration
	var logFile, databaseURL string
	var modes []string
	var clients []int
	var replicas int
	var webhook bool
	var webhookBatch int
	var cpuProfile string
	var rateLimit float64
	var withHorizon, baseline bool
	var serverExe string
	var serverEnv []string
	cmd := &cobra.Command{
		Use:   "bench [--duration D] [--modes M,...] [--clients N,...] [--rate R] [--server-log FILE] [--database-url URL [--replicas N]] [--webhook [--webhook-batch N]] [--horizon] [--baseline] [--server-exe PATH]",
		Short: "Benchmark anchor serve: drive SEP-10, SEP-12 and SEP-6 at 8 and 64 clients",
		Long: `Start anchor serve on a fresh configuration (rate limits off, no Horizon unless --horizon) and drive each mode
at each client count, printing requests per second, latency, and the server's CPU per request
and peak memory. By default the store is a bbolt file; with --database-url it is that
PostgreSQL database (use an empty one: its schema is created), and --replicas runs several
servers on it, the clients spread over them. --rate offers the same load to runs that compare
two configurations (e.g. webhooks off and on), so that the server's CPU per request compares
the work each request costs rather than how well its writes batched at different rates.
--horizon gives the servers a Horizon stand-in on loopback holding each client's account, so
that a SEP-10 round includes the look-up of the account's signers, as in production.`,
		Example: `  anchor dev bench --duration 10s
  anchor dev bench --database-url postgres://anchor@/bench?host=/run/postgresql --replicas 2 --modes kyc-put,deposit --clients 64`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, kv := range serverEnv {
				if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
					return fmt.Errorf("--server-env %q: give KEY=VALUE", kv)
				}
			}
			if rateLimit < 0 {
				return fmt.Errorf("--rate %g: give requests per second above 0, or 0 for as fast as the clients can", rateLimit)
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			exe := self
			if serverExe != "" {
				if _, err := os.Stat(serverExe); err != nil {
					return fmt.Errorf("--server-exe: %w", err)
				}
				exe = serverExe
			}
			var logw io.Writer = io.Discard
			if logFile != "" {
				fh, err := os.Create(logFile)
				if err != nil {
					return err
				}
				defer fh.Close()
				logw = fh
			}
			_, err = loadtest.Bench(cmd.Context(), loadtest.BenchOptions{
				Exe: exe, BaselineExe: self, Duration: duration, Clients: clients, Modes: modes,
				Out: f.IO.Out, Log: logw, DatabaseURL: databaseURL, Replicas: replicas, Webhook: webhook || webhookBatch > 1, WebhookBatch: webhookBatch, CPUProfile: cpuProfile, Rate: rateLimit, Horizon: withHorizon, ServerEnv: serverEnv, Baseline: baseline,
			})
			return err
		},
	}
	cmd.Flags().DurationVar(&duration, "duration", 10*time.Second, "length of each run")
	cmd.Flags().StringSliceVar(&modes, "modes", []string{"challenge", "round", "kyc-put", "deposit"}, "what to drive (challenge, round, kyc-put, deposit, kyc-erase, kyc-upload, interactive, flow-page, price, quote)")
	cmd.Flags().IntSliceVar(&clients, "clients", []int{8, 64}, "concurrent clients of each run")
	cmd.Flags().Float64Var(&rateLimit, "rate", 0, "pace each run's clients together to R requests per second (0: as fast as they can)")
	cmd.Flags().StringVar(&logFile, "server-log", "", "write the server's log to FILE (default: discarded after writing)")
	cmd.Flags().StringVar(&databaseURL, "database-url", "", "run on this PostgreSQL database (an empty one) instead of a bbolt file")
	cmd.Flags().IntVar(&replicas, "replicas", 1, "servers on the database, the clients spread over them (PostgreSQL only)")
	cmd.Flags().StringVar(&cpuProfile, "server-cpu-profile", "", "have the server write a CPU profile of the runs to FILE (for tuning)")
	cmd.Flags().BoolVar(&webhook, "webhook", false, "send every event to a webhook receiver on loopback, and report the delivery rate")
	cmd.Flags().StringArrayVar(&serverEnv, "server-env", nil, "add KEY=VALUE to the servers' environment (e.g. GOMAXPROCS=1), for tuning; repeatable")
	cmd.Flags().BoolVar(&withHorizon, "horizon", false, "give the servers a Horizon stand-in on loopback holding the clients' accounts (SEP-10 rounds then look them up)")
	cmd.Flags().StringVar(&serverExe, "server-exe", "", "run this anchor binary as the server(s) instead of this one (an older build, to compare builds under the same load generator)")
	cmd.Flags().BoolVar(&baseline, "baseline", false, "after each challenge and round run, run the same against a baseline SEP-10 server doing the work of the SDK's former webauth (no replay marks), for comparison")
	cmd.Flags().IntVar(&webhookBatch, "webhook-batch", 1, "events per webhook POST (above 1: arrays; implies --webhook)")
	return cmd
}

// newDevSDKAuthCmd runs the benchmarks' baseline SEP-10 server (loadtest.SDKAuth) as a process of
// its own, so that dev bench --baseline measures its CPU as it measures anchor serve's.
func newDevSDKAuthCmd(f *Factory) *cobra.Command {
	var listen, horizonURL string
	cmd := &cobra.Command{
		Use:    "sdk-auth --listen ADDR [--horizon-url URL]",
		Short:  "Run the baseline SEP-10 server of dev bench --baseline (the SDK's former webauth's work; not for deployment)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			h, err := loadtest.NewSDKAuth(loadtest.SDKAuthOptions{Domain: ln.Addr().String(), HorizonURL: horizonURL, Log: f.IO.ErrOut})
			if err != nil {
				ln.Close()
				return err
			}
			return server.Serve(cmd.Context(), ln, h, slog.New(slog.NewTextHandler(f.IO.ErrOut, nil)), time.Second)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8010", "address to listen on")
	cmd.Flags().StringVar(&horizonURL, "horizon-url", "", "Horizon to read accounts from (none: every account is new)")
	return cmd
}

func newDevDocsCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:    "gen-docs DIR",
		Short:  "Write the command reference into DIR and the config key and page text tables beside it",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			root := NewRootCmd(f)
			root.DisableAutoGenTag = true
			if err := doc.GenMarkdownTree(root, args[0]); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(args[0], "..", "config-keys.md"), []byte(config.KeysMarkdown()), 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(args[0], "..", "page-texts.md"), []byte(web.TextsMarkdown()), 0o644); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(args[0], "..", "openapi.json"), operator.Spec(), 0o644)
		},
	}
}
