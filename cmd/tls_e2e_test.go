package cmd

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// selfSigned writes a self-signed certificate for localhost and its key to dir/name.{crt,key}.
func selfSigned(t *testing.T, dir, name string, serial int64, notBefore, notAfter time.Time) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: notBefore, NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile, cert
}

// TestServeTLS: with tls_cert_file, anchor serves HTTPS with HTTP/2 and publishes https URLs;
// a renewed pair is served after SIGHUP without a restart, a broken renewal keeps the current
// certificate, and an expired or mismatched pair stops serve at start, naming the key.
func TestServeTLS(t *testing.T) {
	dir, port := initAnchor(t)
	now := time.Now()
	certFile, keyFile, first := selfSigned(t, dir, "tls", 1, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	_, _, second := selfSigned(t, dir, "renewed", 2, now.Add(-time.Hour), now.Add(180*24*time.Hour))
	pool := x509.NewCertPool()
	pool.AddCert(first)
	pool.AddCert(second)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true, DisableKeepAlives: true}}
	base := "https://localhost:" + strconv.Itoa(port)
	serial := func() (int64, int, string) {
		t.Helper()
		resp, err := client.Get(base + "/.well-known/stellar.toml")
		if err != nil {
			return 0, 0, err.Error()
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64(), resp.ProtoMajor, b.String()
	}

	c := anchorProcess("serve", "--config", filepath.Join(dir, "anchor.yaml"), "--listen", "127.0.0.1:"+strconv.Itoa(port))
	c.Env = append(c.Env, "ANCHOR_HORIZON_URL=none", "ANCHOR_TLS_CERT_FILE="+certFile, "ANCHOR_TLS_KEY_FILE="+keyFile)
	logs := &syncBuffer{}
	c.Stderr = logs
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Signal(syscall.SIGTERM); c.Wait() }()
	var got int64
	var proto int
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if got, proto, body = serial(); got != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HTTPS: %s\n%s", body, logs.String())
		}
	}
	if got != 1 || proto != 2 || !strings.Contains(body, `TRANSFER_SERVER = "`+base+`/sep6"`) {
		t.Fatalf("serial %d over HTTP/%d, toml:\n%s", got, proto, body)
	}
	// A renewal (certbot writes new files), then SIGHUP: served without a restart.
	crt, _ := os.ReadFile(filepath.Join(dir, "renewed.crt"))
	key, _ := os.ReadFile(filepath.Join(dir, "renewed.key"))
	os.WriteFile(certFile, crt, 0o644)
	os.WriteFile(keyFile, key, 0o600)
	c.Process.Signal(syscall.SIGHUP)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if got, _, _ = serial(); got == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still serial %d after the renewal and SIGHUP\n%s", got, logs.String())
		}
	}
	// A broken renewal (a key of another certificate): the current one stays.
	_, otherKey, _ := selfSigned(t, t.TempDir(), "other", 3, now.Add(-time.Hour), now.Add(time.Hour))
	kb, _ := os.ReadFile(otherKey)
	os.WriteFile(keyFile, kb, 0o600)
	c.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	if got, _, _ = serial(); got != 2 || !strings.Contains(logs.String(), "not reloaded") {
		t.Fatalf("after a broken renewal: serial %d\n%s", got, logs.String())
	}

	// Refused at start: expired, mismatched.
	expiredCert, expiredKey, _ := selfSigned(t, dir, "expired", 4, now.Add(-48*time.Hour), now.Add(-time.Hour))
	for _, tc := range []struct{ cert, key, want string }{{expiredCert, expiredKey, "expired"}, {certFile, otherKey, "private key does not match"}} {
		_, stderr, code := runCLI(t, context.Background(), map[string]string{"ANCHOR_HORIZON_URL": "none", "ANCHOR_TLS_CERT_FILE": tc.cert, "ANCHOR_TLS_KEY_FILE": tc.key},
			"serve", "--config", filepath.Join(dir, "anchor.yaml"), "--listen", "127.0.0.1:"+strconv.Itoa(freePort(t)))
		if code == 0 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "tls_cert_file") {
			t.Fatalf("serve with a %s pair: exit %d %s", tc.want, code, stderr)
		}
	}
}
