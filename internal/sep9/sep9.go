// Package sep9 is the catalogue of SEP-9 standard KYC fields: every natural person, financial
// account, organization and card field, with its SEP-12 type and the check its values must pass.
package sep9

import (
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Type is a field's SEP-12 type.
type Type string

// SEP-12 field types.
const (
	String Type = "string"
	Binary Type = "binary"
	Number Type = "number"
	Date   Type = "date"
)

// Field describes one SEP-9 field.
type Field struct {
	Name        string
	Type        Type
	Description string
	Choices     []string
	check       func(string) error
}

// MaxStringLength bounds every string value.
const MaxStringLength = 2000

// Check validates a non-binary value.
func (f *Field) Check(v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("is not valid UTF-8")
	}
	if len(v) > MaxStringLength {
		return fmt.Errorf("is longer than %d bytes", MaxStringLength)
	}
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("is empty")
	}
	for _, r := range v {
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
			return fmt.Errorf("contains control characters")
		}
	}
	if len(f.Choices) > 0 {
		for _, c := range f.Choices {
			if v == c {
				return nil
			}
		}
		return fmt.Errorf("must be one of %s", strings.Join(f.Choices, ", "))
	}
	if f.check != nil {
		return f.check(v)
	}
	return nil
}

// BinaryTypes are the content types accepted for binary fields (sniffed from the bytes).
var BinaryTypes = []string{"image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf"}

// VideoTypes are also accepted for proof_of_liveness.
var VideoTypes = []string{"video/mp4", "video/webm"}

// CheckBinary validates a binary value by its content and returns its sniffed content type.
func (f *Field) CheckBinary(data []byte) (string, error) {
	if len(data) == 0 {
		return "", fmt.Errorf("is empty")
	}
	ct := http.DetectContentType(data)
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return ct, f.CheckContentType(ct)
}

// CheckContentType checks a sniffed content type against what the field accepts (a stored
// file's type, without reading the file again).
func (f *Field) CheckContentType(ct string) error {
	allowed := BinaryTypes
	if f.Name == "proof_of_liveness" {
		allowed = append(append([]string{}, BinaryTypes...), VideoTypes...)
	}
	for _, a := range allowed {
		if ct == a {
			return nil
		}
	}
	return fmt.Errorf("content is %s; accepted: %s", ct, strings.Join(allowed, ", "))
}

// Lookup returns the field called name.
func Lookup(name string) (*Field, bool) {
	f, ok := catalogue[name]
	return f, ok
}

// Names lists every field name, in catalogue order.
func Names() []string { return append([]string(nil), order...) }

var (
	order     []string
	catalogue = map[string]*Field{}
)

func add(name string, t Type, desc string, check func(string) error, choices ...string) {
	catalogue[name] = &Field{Name: name, Type: t, Description: desc, Choices: choices, check: check}
	order = append(order, name)
}

func init() {
	// Natural person fields.
	add("family_name", String, "Family or last name", nil)
	add("last_name", String, "Family or last name", nil)
	add("given_name", String, "Given or first name", nil)
	add("first_name", String, "Given or first name", nil)
	add("additional_name", String, "Middle name or other additional name", nil)
	add("address_country_code", String, "Country of the current address (ISO 3166-1 alpha-3)", country3)
	add("state_or_province", String, "State, province, region or prefecture", nil)
	add("city", String, "City or town", nil)
	add("postal_code", String, "Postal or other code identifying the locale", nil)
	add("address", String, "Entire address as a multi-line string", nil)
	add("mobile_number", String, "Mobile phone number in E.164 format", nil) // checked with mobile_number_format
	add("mobile_number_format", String, "Format of mobile_number, e.g. E.164 or hash", nil)
	add("email_address", String, "Email address", email)
	add("birth_date", Date, "Date of birth, e.g. 1976-07-04", date)
	add("birth_place", String, "Place of birth (city, state, country; as on passport)", nil)
	add("birth_country_code", String, "Country of birth (ISO 3166-1 alpha-3)", country3)
	add("tax_id", String, "Tax identifier in the customer's country", nil)
	add("tax_id_name", String, "Name of the tax ID (SSN or ITIN in the US)", nil)
	add("occupation", Number, "Occupation ISCO-08 code", isco)
	add("employer_name", String, "Name of employer", nil)
	add("employer_address", String, "Address of employer", nil)
	add("language_code", String, "Primary language (ISO 639-1)", language)
	add("id_type", String, "Type of ID: passport, drivers_license, id_card, ...", nil)
	add("id_country_code", String, "Country issuing the ID (ISO 3166-1 alpha-3)", country3)
	add("id_issue_date", Date, "ID issue date", date)
	add("id_expiration_date", Date, "ID expiration date", date)
	add("id_number", String, "Passport or ID number", nil)
	add("photo_id_front", Binary, "Image of the front of the photo ID or passport", nil)
	add("photo_id_back", Binary, "Image of the back of the photo ID or passport", nil)
	add("notary_approval_of_photo_id", Binary, "Image of a notary's approval of the photo ID", nil)
	add("ip_address", String, "IP address of the customer's computer", ipAddress)
	add("photo_proof_residence", Binary, "Image of a utility bill or bank statement with name and address", nil)
	add("sex", String, "male, female or other", nil, "male", "female", "other")
	add("proof_of_income", Binary, "Image of a proof of income document", nil)
	add("proof_of_liveness", Binary, "Video or image of the customer as a liveness proof", nil)
	add("referral_id", String, "Origin of the customer or a referral code", nil)
	// Financial account fields (also with the organization. prefix).
	for _, p := range []string{"", "organization."} {
		add(p+"bank_name", String, "Name of the bank", nil)
		add(p+"bank_account_type", String, "checking or savings", nil, "checking", "savings")
		add(p+"bank_account_number", String, "Number identifying the bank account", nil)
		add(p+"bank_number", String, "Number identifying the bank (routing number in the US)", nil)
		add(p+"bank_phone_number", String, "Phone number of the bank, with country code", phone)
		add(p+"bank_branch_number", String, "Number identifying the bank branch", nil)
		add(p+"external_transfer_memo", String, "Destination tag or memo identifying a transfer", nil)
		add(p+"clabe_number", String, "Bank account number for Mexico (CLABE)", digits(18))
		add(p+"cbu_number", String, "Clave Bancaria Uniforme (CBU) or Clave Virtual Uniforme (CVU)", digits(22))
		add(p+"cbu_alias", String, "Alias of a CBU or CVU", nil)
		add(p+"mobile_money_number", String, "Mobile money account phone number (E.164)", phone)
		add(p+"mobile_money_provider", String, "Mobile money service provider", nil)
		add(p+"crypto_address", String, "Address of a cryptocurrency account", nil)
		add(p+"crypto_memo", String, "(deprecated) Destination tag or memo", nil)
	}
	// Organization fields.
	add("organization.name", String, "Full organization name as on the incorporation", nil)
	add("organization.VAT_number", String, "Organization VAT number", nil)
	add("organization.registration_number", String, "Organization registration number", nil)
	add("organization.registration_date", String, "Date the organization was registered", date)
	add("organization.registered_address", String, "Organization registered address", nil)
	add("organization.number_of_shareholders", Number, "Number of shareholders", nonNegativeInt)
	add("organization.shareholder_name", String, "A shareholder: an organization or a person", nil)
	add("organization.photo_incorporation_doc", Binary, "Image of incorporation documents", nil)
	add("organization.photo_proof_address", Binary, "Image of a utility bill or bank statement with the organization's name and address", nil)
	add("organization.address_country_code", String, "Country of the address (ISO 3166-1 alpha-3)", country3)
	add("organization.state_or_province", String, "State, province, region or prefecture", nil)
	add("organization.city", String, "City or town", nil)
	add("organization.postal_code", String, "Postal or other code identifying the locale", nil)
	add("organization.director_name", String, "Registered managing director", nil)
	add("organization.website", String, "Organization website", website)
	add("organization.email", String, "Organization contact email", email)
	add("organization.phone", String, "Organization contact phone (E.164)", phone)
	// Card fields.
	add("card.number", String, "Card number", cardNumber)
	add("card.expiration_date", Date, "Expiration month and year as YY-MM (e.g. 29-11)", yymm)
	add("card.cvc", String, "CVC number", digitsRange(3, 4))
	add("card.holder_name", String, "Name of the card holder", nil)
	add("card.network", String, "Card network (Visa, Mastercard, ...)", nil)
	add("card.postal_code", String, "Billing address postal code", nil)
	add("card.country_code", String, "Billing address country (ISO 3166-1 alpha-2)", country2)
	add("card.state_or_province", String, "Billing state or province (ISO 3166-2)", nil)
	add("card.city", String, "Billing city or town", nil)
	add("card.address", String, "Entire billing address as a multi-line string", nil)
	add("card.token", String, "Token of the card in an external payment system", nil)
}

// CheckMobileNumber checks mobile_number: E.164 unless mobile_number_format says otherwise.
func CheckMobileNumber(v, format string) error {
	if format != "" && !strings.EqualFold(format, "E.164") && !strings.EqualFold(format, "E164") {
		return nil
	}
	return phone(v)
}

var (
	e164RE  = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	yymmRE  = regexp.MustCompile(`^[0-9]{2}-(0[1-9]|1[0-2])$`)
	iscoRE  = regexp.MustCompile(`^[0-9]{1,4}$`)
	digitRE = regexp.MustCompile(`^[0-9]+$`)
)

func set(s string) map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(s) {
		m[f] = true
	}
	return m
}

func country3(v string) error {
	if !countryAlpha3[v] {
		return fmt.Errorf("%q is not an ISO 3166-1 alpha-3 country code (e.g. USA)", v)
	}
	return nil
}

func country2(v string) error {
	if !countryAlpha2[v] {
		return fmt.Errorf("%q is not an ISO 3166-1 alpha-2 country code (e.g. US)", v)
	}
	return nil
}

func language(v string) error {
	if !languageAlpha2[v] {
		return fmt.Errorf("%q is not an ISO 639-1 language code (e.g. en)", v)
	}
	return nil
}

func phone(v string) error {
	if !e164RE.MatchString(v) {
		return fmt.Errorf("%q is not an E.164 phone number (e.g. +14155552671)", v)
	}
	return nil
}

func email(v string) error {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || !strings.Contains(v[strings.LastIndexByte(v, '@'):], ".") {
		return fmt.Errorf("%q is not an email address", v)
	}
	return nil
}

func date(v string) error {
	if _, err := time.Parse("2006-01-02", v); err != nil {
		return fmt.Errorf("%q is not an ISO 8601 date (YYYY-MM-DD)", v)
	}
	return nil
}

func yymm(v string) error {
	if !yymmRE.MatchString(v) {
		return fmt.Errorf("%q is not a YY-MM expiration date (e.g. 29-11)", v)
	}
	return nil
}

func isco(v string) error {
	if !iscoRE.MatchString(v) {
		return fmt.Errorf("%q is not an ISCO-08 occupation code (1 to 4 digits)", v)
	}
	return nil
}

func nonNegativeInt(v string) error {
	if !digitRE.MatchString(v) || len(v) > 12 {
		return fmt.Errorf("%q is not a whole number", v)
	}
	return nil
}

func ipAddress(v string) error {
	if net.ParseIP(v) == nil {
		return fmt.Errorf("%q is not an IP address", v)
	}
	return nil
}

func website(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q is not an http(s) URL", v)
	}
	return nil
}

func digits(n int) func(string) error {
	return func(v string) error {
		if len(v) != n || !digitRE.MatchString(v) {
			return fmt.Errorf("must be %d digits", n)
		}
		return nil
	}
}

func digitsRange(lo, hi int) func(string) error {
	return func(v string) error {
		if len(v) < lo || len(v) > hi || !digitRE.MatchString(v) {
			return fmt.Errorf("must be %d to %d digits", lo, hi)
		}
		return nil
	}
}

// cardNumber checks length and the Luhn checksum.
func cardNumber(v string) error {
	s := strings.ReplaceAll(v, " ", "")
	if len(s) < 12 || len(s) > 19 || !digitRE.MatchString(s) {
		return fmt.Errorf("is not a card number")
	}
	sum := 0
	for i := 0; i < len(s); i++ {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	if sum%10 != 0 {
		return fmt.Errorf("is not a valid card number (checksum)")
	}
	return nil
}
