package sep1

import (
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/keypair"

	"github.com/anchorkit/anchor/internal/config"
	"github.com/anchorkit/anchor/pkg/stellartoml"
)

func validConfig() *config.Config {
	return &config.Config{
		HomeDomain: "anchor.example.com", NetworkPassphrase: config.Networks["public"],
		HorizonURL: "https://horizon.stellar.org", SigningSecret: config.Secret(keypair.MustRandom().Seed()),
		Documentation: config.Documentation{OrgName: "Example", OrgOfficialEmail: "ops@anchor.example.com", OrgPhoneNumber: "+14155552671"},
		Principals:    []config.Principal{{Name: "Jane", Email: "jane@anchor.example.com"}},
		Assets: []config.Asset{{Code: "USDX", Issuer: keypair.MustRandom().Address(), DistributionAccount: keypair.MustRandom().Address(),
			Status: "live", DisplayDecimals: 2, AnchorAssetType: "fiat", AnchorAsset: "USD"}},
	}
}

func TestRenderIsValid(t *testing.T) {
	out, err := Render(validConfig())
	if err != nil {
		t.Fatal(err)
	}
	if fs := stellartoml.Validate(out); stellartoml.HasErrors(fs, true) {
		t.Fatalf("findings %v\n%s", fs, out)
	}
	for _, want := range []string{`WEB_AUTH_ENDPOINT = "https://anchor.example.com/auth"`, `TRANSFER_SERVER = "https://anchor.example.com/sep6"`,
		`KYC_SERVER = "https://anchor.example.com/kyc"`, "[[CURRENCIES]]", "[DOCUMENTATION]", "[[PRINCIPALS]]", "ACCOUNTS = ["} {
		if !strings.Contains(string(out), want) {
			t.Errorf("missing %s", want)
		}
	}
}

// TestRenderRefusesWhatValidateWouldReject: config values that config.Validate does not know
// SEP-1 forbids are caught when rendering, naming the config key.
func TestRenderRefusesWhatValidateWouldReject(t *testing.T) {
	for key, mutate := range map[string]func(*config.Config){
		"documentation.org_official_email": func(c *config.Config) { c.Documentation.OrgOfficialEmail = "not an email" },
		"documentation.org_phone_number":   func(c *config.Config) { c.Documentation.OrgPhoneNumber = "555-1234" },
		"principals[0].email":              func(c *config.Config) { c.Principals[0].Email = "jane@" },
		"principals[0].id_photo_hash":      func(c *config.Config) { c.Principals[0].IDPhotoHash = "xyz" },
	} {
		t.Run(key, func(t *testing.T) {
			c := validConfig()
			mutate(c)
			_, err := Render(c)
			if err == nil || !strings.HasPrefix(err.Error(), "config: "+key+": ") {
				t.Fatalf("err %v", err)
			}
		})
	}
}
