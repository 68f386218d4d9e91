package metrics

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"
)

// families returns the names of every metric family New registers (described, so that vectors
// without series yet are included too).
func families(t *testing.T) []string {
	t.Helper()
	m := New("test")
	m.WatchTLS(time.Now())
	ch := make(chan *prometheus.Desc, 1000)
	m.Registry.Describe(ch)
	close(ch)
	re := regexp.MustCompile(`fqName: "([^"]+)"`)
	var out []string
	for d := range ch {
		if g := re.FindStringSubmatch(d.String()); g != nil {
			out = append(out, g[1])
		}
	}
	return out
}

// alertRules reads docs/monitoring/alerts.yaml.
func alertRules(t *testing.T) []map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../docs/monitoring/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Name  string           `yaml:"name"`
			Rules []map[string]any `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, g := range doc.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

// TestDashboardAndAlertsUseRealMetrics: every anchor_* metric the Grafana dashboard and the
// alerting rules query is one anchor registers (histograms with their _bucket/_sum/_count), and
// every rule has the fields Prometheus needs.
func TestDashboardAndAlertsUseRealMetrics(t *testing.T) {
	names := families(t)
	var exprs []string
	b, err := os.ReadFile("../../docs/monitoring/anchor-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	rules := alertRules(t)
	if len(rules) < 8 {
		t.Fatalf("%d alerting rules", len(rules))
	}
	for _, r := range rules {
		expr, _ := r["expr"].(string)
		if r["alert"] == nil || expr == "" || r["labels"] == nil || r["annotations"] == nil {
			t.Errorf("rule %v lacks alert, expr, labels or annotations", r["alert"])
		}
		exprs = append(exprs, expr)
	}
	used := regexp.MustCompile(`\banchor_[a-z0-9_]+`)
	for _, e := range exprs {
		for _, name := range used.FindAllString(e, -1) {
			base := name
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(name, suffix); ok && slices.Contains(names, b) {
					base = b
				}
			}
			if !slices.Contains(names, base) {
				t.Errorf("%q queries %s, which anchor does not export", e, name)
			}
		}
	}
}

// TestAlertRulesParse: promtool (Debian package prometheus) accepts the rules file.
func TestAlertRulesParse(t *testing.T) {
	promtool(t, "check", "rules", "../../docs/monitoring/alerts.yaml")
}

// TestAlertsWithReplicas: the alert rules hold for several replicas (promtool test rules on
// testdata/replicas_alerts_test.yaml): the watcher's lag is the watching replica's, a gauge read
// from the store fires once however many replicas export it, and reconcile alerts follow the
// replica the last reconcile ran on.
func TestAlertsWithReplicas(t *testing.T) {
	promtool(t, "test", "rules", "testdata/replicas_alerts_test.yaml")
}

// promtool runs promtool with args and fails the test when it fails.
func promtool(t *testing.T, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian package prometheus; .ci/run installs it)")
	}
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
