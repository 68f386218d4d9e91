package sep9

import "testing"

func TestFieldChecks(t *testing.T) {
	cases := []struct {
		field, value string
		ok           bool
	}{
		{"first_name", "Jane", true},
		{"first_name", "   ", false},
		{"first_name", "a\x00b", false},
		{"address", "1 Main St\nSpringfield", true},
		{"email_address", "jane@example.com", true},
		{"email_address", "jane@", false},
		{"email_address", "Jane <jane@example.com>", false},
		{"birth_date", "1976-07-04", true},
		{"birth_date", "1976-13-04", false},
		{"birth_date", "04/07/1976", false},
		{"address_country_code", "USA", true},
		{"address_country_code", "US", false},
		{"address_country_code", "XXX", false},
		{"card.country_code", "US", true},
		{"card.country_code", "USA", false},
		{"language_code", "en", true},
		{"language_code", "xx", false},
		{"occupation", "2511", true},
		{"occupation", "developer", false},
		{"sex", "female", true},
		{"sex", "f", false},
		{"bank_account_type", "savings", true},
		{"bank_account_type", "brokerage", false},
		{"organization.phone", "+442071838750", true},
		{"organization.phone", "020 7183 8750", false},
		{"ip_address", "2001:db8::1", true},
		{"ip_address", "999.1.1.1", false},
		{"card.number", "4242424242424242", true},
		{"card.number", "4242424242424241", false},
		{"card.expiration_date", "29-11", true},
		{"card.expiration_date", "2029-11", false},
		{"card.cvc", "123", true},
		{"card.cvc", "12a", false},
		{"clabe_number", "032180000118359719", true},
		{"clabe_number", "12345", false},
		{"organization.number_of_shareholders", "3", true},
		{"organization.number_of_shareholders", "-3", false},
		{"organization.website", "https://example.com", true},
		{"organization.website", "example", false},
	}
	for _, c := range cases {
		f, ok := Lookup(c.field)
		if !ok {
			t.Fatalf("%s is not in the catalogue", c.field)
		}
		if err := f.Check(c.value); (err == nil) != c.ok {
			t.Errorf("%s=%q: err %v, want ok=%v", c.field, c.value, err, c.ok)
		}
	}
}

func TestCatalogueCoversSEP9(t *testing.T) {
	for _, name := range []string{"family_name", "mobile_number_format", "proof_of_liveness", "referral_id",
		"external_transfer_memo", "mobile_money_provider", "organization.bank_account_number", "organization.VAT_number",
		"organization.photo_proof_address", "card.token", "card.state_or_province"} {
		if _, ok := Lookup(name); !ok {
			t.Errorf("%s missing", name)
		}
	}
	if n := len(Names()); n < 90 {
		t.Errorf("only %d fields", n)
	}
}

func TestBinarySniffing(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	f, _ := Lookup("photo_id_front")
	if ct, err := f.CheckBinary(png); err != nil || ct != "image/png" {
		t.Fatalf("png: %q %v", ct, err)
	}
	if _, err := f.CheckBinary([]byte("just text")); err == nil {
		t.Fatal("text accepted as a photo")
	}
	if _, err := f.CheckBinary(nil); err == nil {
		t.Fatal("empty accepted")
	}
	if err := CheckMobileNumber("abcdef", "hash"); err != nil {
		t.Fatal("hashed mobile number refused")
	}
	if err := CheckMobileNumber("12345", ""); err == nil {
		t.Fatal("non-E.164 mobile number accepted")
	}
}
