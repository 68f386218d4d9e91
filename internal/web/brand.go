package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/internal/sep9"
)

// MaxLogoSize bounds pages.logo: the pages are opened in wallets' webviews, often on phones.
const MaxLogoSize = 256 << 10

// The stylesheet's colours (style.css :root), which pages.* colours replace.
const (
	defaultAccent     = "#2457c5"
	defaultBackground = "#f6f8fb"
	defaultSurface    = "#ffffff"
	defaultText       = "#1d2430"
)

// Brand is how the pages look and speak: the operator's name, logo, colours and texts
// (config pages.*), checked and prepared once at start.
type Brand struct {
	Name string
	// Version names the stylesheet and logo in their URLs, so that a browser fetches them
	// again after a change of brand (they are cached for an hour).
	Version  string
	logo     []byte
	logoType string
	css      []byte
	// texts is the message catalogue with the operator's texts merged in.
	texts map[string]map[string]string
}

// HasLogo tells whether the pages show a logo.
func (b *Brand) HasLogo() bool { return len(b.logo) > 0 }

var defaultBrand = func() *Brand {
	b, err := NewBrand(&config.Config{})
	if err != nil {
		panic(err)
	}
	return b
}()

var langRE = regexp.MustCompile(`^[a-z]{2,3}$`)

// NewBrand checks and prepares the configuration's pages.* keys: a logo that is not a small
// image, colours that do not read on each other, or a text the catalogue does not have (or with
// other placeholders than the English one) is an error naming the key.
func NewBrand(cfg *config.Config) (*Brand, error) {
	p := cfg.Pages
	b := &Brand{Name: p.Name, texts: map[string]map[string]string{}}
	if b.Name == "" {
		b.Name = cfg.Documentation.OrgName
	}
	for lang, m := range catalogue {
		b.texts[lang] = m
	}
	texts, err := cfg.PageTexts()
	if err != nil {
		return nil, err
	}
	langs := make([]string, 0, len(texts))
	for lang := range texts {
		langs = append(langs, lang)
	}
	sort.Strings(langs)
	for _, lang := range langs {
		if !langRE.MatchString(lang) {
			return nil, &config.Error{Key: "pages.texts." + lang, Msg: "not a language: give a two-letter code such as es", NoHint: true}
		}
		merged := map[string]string{}
		for k, v := range b.texts[lang] {
			merged[k] = v
		}
		keys := make([]string, 0, len(texts[lang]))
		for k := range texts[lang] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := texts[lang][k]
			en, ok := catalogue["en"][k]
			if field, isField := strings.CutPrefix(k, "field."); isField {
				// A KYC form's label: any SEP-9 field may have one.
				_, ok = sep9.Lookup(field)
			}
			if !ok {
				return nil, &config.Error{Key: "pages.texts." + lang + "." + k, Msg: "no such text (docs/page-texts.md lists them)", NoHint: true}
			}
			if want, got := placeholders(en), placeholders(v); want != got {
				needs := fmt.Sprintf("the English text has %q (in this order)", want)
				if want == "" {
					needs = "the English text has none"
				}
				return nil, &config.Error{Key: "pages.texts." + lang + "." + k, NoHint: true, Msg: fmt.Sprintf("has placeholders %q where %s; write %%%% for a %%", got, needs)}
			}
			merged[k] = v
		}
		b.texts[lang] = merged
	}
	if p.Logo != "" {
		if b.logo, b.logoType, err = readLogo(p.Logo); err != nil {
			return nil, &config.Error{Key: "pages.logo", Msg: err.Error()}
		}
	}
	if b.css, err = stylesheetFor(p); err != nil {
		return nil, err
	}
	sum := sha256.New()
	sum.Write(b.css)
	sum.Write(b.logo)
	b.Version = hex.EncodeToString(sum.Sum(nil))[:12]
	return b, nil
}

var verbRE = regexp.MustCompile(`%[-+# 0-9.]*([a-zA-Z%]|$)`)

// placeholders is a format's verbs in order, %% left out.
func placeholders(format string) string {
	var vs []string
	for _, v := range verbRE.FindAllString(format, -1) {
		if v != "%%" {
			vs = append(vs, v)
		}
	}
	return strings.Join(vs, " ")
}

func readLogo(path string) ([]byte, string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if fi.Size() > MaxLogoSize {
		return nil, "", fmt.Errorf("%s is %d KiB; a logo may have at most %d KiB", path, fi.Size()>>10, MaxLogoSize>>10)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	ct := http.DetectContentType(b)
	switch {
	case ct == "image/png" || ct == "image/jpeg" || ct == "image/gif" || ct == "image/webp":
		return b, ct, nil
	case strings.EqualFold(filepath.Ext(path), ".svg") && bytes.Contains(b, []byte("<svg")):
		return b, "image/svg+xml", nil
	}
	return nil, "", fmt.Errorf("%s is not a PNG, JPEG, GIF, WebP or SVG image", path)
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// stylesheetFor is style.css with the configured colours: the text must read on the background
// and on the cards (WCAG AA, 4.5:1), and a button's label is white or dark, whichever reads
// better on the accent.
func stylesheetFor(p config.Pages) ([]byte, error) {
	pick := func(v, def string) rgb {
		if v == "" {
			v = def
		}
		return parseColor(v)
	}
	accent := pick(p.AccentColor, defaultAccent)
	bg := pick(p.BackgroundColor, defaultBackground)
	surface := pick(p.SurfaceColor, defaultSurface)
	fg := pick(p.TextColor, defaultText)
	if p.AccentColor == "" && p.BackgroundColor == "" && p.SurfaceColor == "" && p.TextColor == "" {
		return stylesheet, nil
	}
	for _, c := range []struct {
		key  string
		with rgb
	}{{"pages.background_color", bg}, {"pages.surface_color", surface}} {
		if r := contrast(fg, c.with); r < 4.5 {
			key := c.key
			if p.TextColor != "" {
				key = "pages.text_color"
			}
			return nil, &config.Error{Key: key, Msg: fmt.Sprintf("the text (%s) on %s (%s) has a contrast of %.1f:1; it needs at least 4.5:1 to be read", fg, strings.TrimPrefix(c.key, "pages."), c.with, r)}
		}
	}
	if r := contrast(accent, surface); r < 3 {
		return nil, &config.Error{Key: "pages.accent_color", Msg: fmt.Sprintf("the accent (%s) on the cards (%s) has a contrast of %.1f:1; it needs at least 3:1 (statuses are written in it)", accent, surface, r)}
	}
	onAccent := rgb{255, 255, 255}
	if dark := (rgb{0x1d, 0x24, 0x30}); contrast(dark, accent) > contrast(onAccent, accent) {
		onAccent = dark
	}
	// Errors are red: anchor's on a light background, a light red on a dark one.
	errColor := rgb{0xb3, 0x26, 0x1e}
	if light := (rgb{0xff, 0x8a, 0x80}); contrast(light, bg) > contrast(errColor, bg) {
		errColor = light
	}
	var buf bytes.Buffer
	buf.Write(stylesheet)
	fmt.Fprintf(&buf, "/* pages.* */\n:root { --accent: %s; --on-accent: %s; --bg: %s; --surface: %s; --fg: %s; --muted: %s; --line: %s; --error: %s; }\n",
		accent, onAccent, bg, surface, fg, mix(fg, surface, 0.72), mix(fg, surface, 0.18), errColor)
	return buf.Bytes(), nil
}

type rgb [3]uint8

func parseColor(s string) rgb {
	s = strings.TrimPrefix(s, "#")
	if len(s) == 3 {
		s = string([]byte{s[0], s[0], s[1], s[1], s[2], s[2]})
	}
	var c rgb
	for i := range c {
		v, _ := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		c[i] = uint8(v)
	}
	return c
}

func (c rgb) String() string { return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2]) }

// luminance is WCAG 2's relative luminance.
func (c rgb) luminance() float64 {
	var l [3]float64
	for i, v := range c {
		s := float64(v) / 255
		if s <= 0.04045 {
			l[i] = s / 12.92
		} else {
			l[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

// contrast is WCAG 2's contrast ratio, 1 to 21.
func contrast(a, b rgb) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// mix is a share w of a over b.
func mix(a, b rgb, w float64) rgb {
	var c rgb
	for i := range c {
		c[i] = uint8(math.Round(w*float64(a[i]) + (1-w)*float64(b[i])))
	}
	return c
}

// text is a text of a language, else of English; ok false when neither has it.
func (b *Brand) text(lang, key string) (string, bool) {
	if s, ok := b.texts[lang][key]; ok {
		return s, true
	}
	s, ok := b.texts["en"][key]
	return s, ok
}

// translator returns the texts of a language (the templates' {{.T "key" args}}), English for
// a text the language lacks.
func (b *Brand) translator(lang string) func(key string, args ...any) string {
	return func(key string, args ...any) string {
		s, _ := b.text(lang, key)
		if len(args) > 0 {
			return fmt.Sprintf(s, args...)
		}
		return s
	}
}

// language picks the catalogue for an RFC 4646 tag ("es-AR" is Spanish), English by default.
func (b *Brand) language(tag string) string {
	primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
	if _, ok := b.texts[primary]; ok {
		return primary
	}
	return "en"
}
