package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// LoadCertPair reads a certificate chain and its key and refuses a pair that does not match, a
// certificate not yet valid, or one that has expired.
func LoadCertPair(certFile, keyFile string, now time.Time) (*tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls_cert_file %s / tls_key_file %s: %v", certFile, keyFile, err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("tls_cert_file %s: %v", certFile, err)
	}
	switch {
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("tls_cert_file %s: the certificate expired at %s", certFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("tls_cert_file %s: the certificate is valid only from %s", certFile, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	pair.Leaf = leaf
	return &pair, nil
}

// CertReloader serves the certificate of a file pair and picks up a renewed one without a
// restart: when the files change (looked at, at most every CheckEvery, on handshakes) or on
// Reload (SIGHUP). A renewal that does not load (half written, mismatched, expired) is logged
// and the current certificate is kept.
type CertReloader struct {
	CertFile, KeyFile string
	CheckEvery        time.Duration
	Logger            *slog.Logger
	// OnLoad, when set, is told each certificate loaded (its expiry, for the metric).
	OnLoad func(notAfter time.Time)

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string // the files' sizes and modification times when cert was loaded
	checked time.Time
}

// NewCertReloader loads the pair, or fails naming what is wrong with it.
func NewCertReloader(certFile, keyFile string, logger *slog.Logger) (*CertReloader, error) {
	r := &CertReloader{CertFile: certFile, KeyFile: keyFile, CheckEvery: 10 * time.Second, Logger: logger}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *CertReloader) fileStamp() string {
	s := ""
	for _, f := range []string{r.CertFile, r.KeyFile} {
		if fi, err := os.Stat(f); err == nil {
			s += fmt.Sprintf("%d:%d;", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return s
}

// Reload loads the pair now; on failure the certificate served stays the previous one.
func (r *CertReloader) Reload() error {
	stamp := r.fileStamp()
	cert, err := LoadCertPair(r.CertFile, r.KeyFile, time.Now())
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checked = time.Now()
	if err != nil {
		if r.cert != nil {
			r.stamp = stamp // do not retry the same broken files on every handshake
			r.Logger.Error("TLS certificate not reloaded; serving the previous one", "err", err)
		}
		return err
	}
	if r.cert != nil {
		r.Logger.Info("TLS certificate reloaded", "not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	r.cert, r.stamp = cert, stamp
	if r.OnLoad != nil {
		r.OnLoad(cert.Leaf.NotAfter)
	}
	return nil
}

// GetCertificate is tls.Config.GetCertificate.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	due := time.Since(r.checked) >= r.CheckEvery
	if due {
		r.checked = time.Now()
	}
	stale := due && r.fileStamp() != r.stamp
	cert := r.cert
	r.mu.Unlock()
	if stale {
		_ = r.Reload()
		r.mu.Lock()
		cert = r.cert
		r.mu.Unlock()
	}
	if cert == nil {
		return nil, errors.New("no TLS certificate loaded")
	}
	return cert, nil
}

// NotAfter is when the certificate served expires.
func (r *CertReloader) NotAfter() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cert.Leaf.NotAfter
}

// TLSConfig is the server's TLS configuration: TLS 1.2 and later, HTTP/2 and HTTP/1.1.
func (r *CertReloader) TLSConfig() *tls.Config {
	return &tls.Config{GetCertificate: r.GetCertificate, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
}
