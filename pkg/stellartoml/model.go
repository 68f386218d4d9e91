// Package stellartoml reads, writes, fetches and validates stellar.toml files as defined by
// SEP-1 (https://github.com/stellar/stellar-protocol/blob/master/ecosystem/sep-0001.md).
package stellartoml

import (
	"errors"
	"fmt"

	"github.com/pelletier/go-toml/v2"
)

// MaxSize is the largest stellar.toml SEP-1 allows.
const MaxSize = 100 * 1024

// Known network passphrases (SEP-1 NETWORK_PASSPHRASE).
var KnownNetworks = map[string]string{
	"Public Global Stellar Network ; September 2015": "public",
	"Test SDF Network ; September 2015":              "testnet",
	"Test SDF Future Network ; October 2022":         "futurenet",
}

// StellarTOML is the typed model of a stellar.toml.
type StellarTOML struct {
	Version                     string         `toml:"VERSION,omitempty"`
	NetworkPassphrase           string         `toml:"NETWORK_PASSPHRASE,omitempty"`
	FederationServer            string         `toml:"FEDERATION_SERVER,omitempty"`
	AuthServer                  string         `toml:"AUTH_SERVER,omitempty"`
	TransferServer              string         `toml:"TRANSFER_SERVER,omitempty"`
	TransferServerSEP0024       string         `toml:"TRANSFER_SERVER_SEP0024,omitempty"`
	KYCServer                   string         `toml:"KYC_SERVER,omitempty"`
	WebAuthEndpoint             string         `toml:"WEB_AUTH_ENDPOINT,omitempty"`
	WebAuthForContractsEndpoint string         `toml:"WEB_AUTH_FOR_CONTRACTS_ENDPOINT,omitempty"`
	WebAuthContractID           string         `toml:"WEB_AUTH_CONTRACT_ID,omitempty"`
	SigningKey                  string         `toml:"SIGNING_KEY,omitempty"`
	HorizonURL                  string         `toml:"HORIZON_URL,omitempty"`
	Accounts                    []string       `toml:"ACCOUNTS,omitempty"`
	URIRequestSigningKey        string         `toml:"URI_REQUEST_SIGNING_KEY,omitempty"`
	DirectPaymentServer         string         `toml:"DIRECT_PAYMENT_SERVER,omitempty"`
	AnchorQuoteServer           string         `toml:"ANCHOR_QUOTE_SERVER,omitempty"`
	Documentation               *Documentation `toml:"DOCUMENTATION,omitempty"`
	Principals                  []Principal    `toml:"PRINCIPALS,omitempty"`
	Currencies                  []Currency     `toml:"CURRENCIES,omitempty"`
	Validators                  []Validator    `toml:"VALIDATORS,omitempty"`
}

// Documentation is the [DOCUMENTATION] table.
type Documentation struct {
	OrgName                       string `toml:"ORG_NAME,omitempty"`
	OrgDBA                        string `toml:"ORG_DBA,omitempty"`
	OrgURL                        string `toml:"ORG_URL,omitempty"`
	OrgLogo                       string `toml:"ORG_LOGO,omitempty"`
	OrgDescription                string `toml:"ORG_DESCRIPTION,omitempty"`
	OrgPhysicalAddress            string `toml:"ORG_PHYSICAL_ADDRESS,omitempty"`
	OrgPhysicalAddressAttestation string `toml:"ORG_PHYSICAL_ADDRESS_ATTESTATION,omitempty"`
	OrgPhoneNumber                string `toml:"ORG_PHONE_NUMBER,omitempty"`
	OrgPhoneNumberAttestation     string `toml:"ORG_PHONE_NUMBER_ATTESTATION,omitempty"`
	OrgKeybase                    string `toml:"ORG_KEYBASE,omitempty"`
	OrgTwitter                    string `toml:"ORG_TWITTER,omitempty"`
	OrgGithub                     string `toml:"ORG_GITHUB,omitempty"`
	OrgOfficialEmail              string `toml:"ORG_OFFICIAL_EMAIL,omitempty"`
	OrgSupportEmail               string `toml:"ORG_SUPPORT_EMAIL,omitempty"`
	OrgLicensingAuthority         string `toml:"ORG_LICENSING_AUTHORITY,omitempty"`
	OrgLicenseType                string `toml:"ORG_LICENSE_TYPE,omitempty"`
	OrgLicenseNumber              string `toml:"ORG_LICENSE_NUMBER,omitempty"`
}

// Principal is one [[PRINCIPALS]] entry.
type Principal struct {
	Name                  string `toml:"name,omitempty"`
	Email                 string `toml:"email,omitempty"`
	Keybase               string `toml:"keybase,omitempty"`
	Telegram              string `toml:"telegram,omitempty"`
	Twitter               string `toml:"twitter,omitempty"`
	Github                string `toml:"github,omitempty"`
	IDPhotoHash           string `toml:"id_photo_hash,omitempty"`
	VerificationPhotoHash string `toml:"verification_photo_hash,omitempty"`
}

// Currency is one [[CURRENCIES]] entry.
type Currency struct {
	Code                        string   `toml:"code,omitempty"`
	Issuer                      string   `toml:"issuer,omitempty"`
	Contract                    string   `toml:"contract,omitempty"`
	CodeTemplate                string   `toml:"code_template,omitempty"`
	Status                      string   `toml:"status,omitempty"`
	DisplayDecimals             *int     `toml:"display_decimals,omitempty"`
	Name                        string   `toml:"name,omitempty"`
	Desc                        string   `toml:"desc,omitempty"`
	Conditions                  string   `toml:"conditions,omitempty"`
	Image                       string   `toml:"image,omitempty"`
	FixedNumber                 *int64   `toml:"fixed_number,omitempty"`
	MaxNumber                   *int64   `toml:"max_number,omitempty"`
	IsUnlimited                 *bool    `toml:"is_unlimited,omitempty"`
	IsAssetAnchored             *bool    `toml:"is_asset_anchored,omitempty"`
	AnchorAssetType             string   `toml:"anchor_asset_type,omitempty"`
	AnchorAsset                 string   `toml:"anchor_asset,omitempty"`
	AttestationOfReserve        string   `toml:"attestation_of_reserve,omitempty"`
	RedemptionInstructions      string   `toml:"redemption_instructions,omitempty"`
	CollateralAddresses         []string `toml:"collateral_addresses,omitempty"`
	CollateralAddressMessages   []string `toml:"collateral_address_messages,omitempty"`
	CollateralAddressSignatures []string `toml:"collateral_address_signatures,omitempty"`
	Regulated                   *bool    `toml:"regulated,omitempty"`
	ApprovalServer              string   `toml:"approval_server,omitempty"`
	ApprovalCriteria            string   `toml:"approval_criteria,omitempty"`
	TOML                        string   `toml:"toml,omitempty"`
}

// Validator is one [[VALIDATORS]] entry.
type Validator struct {
	Alias       string `toml:"ALIAS,omitempty"`
	DisplayName string `toml:"DISPLAY_NAME,omitempty"`
	PublicKey   string `toml:"PUBLIC_KEY,omitempty"`
	Host        string `toml:"HOST,omitempty"`
	History     string `toml:"HISTORY,omitempty"`
}

// ErrTooLarge is returned for input over MaxSize.
var ErrTooLarge = fmt.Errorf("stellar.toml is larger than %d bytes", MaxSize)

// Decode parses data into the typed model. Unknown keys are ignored; use Validate to see them.
func Decode(data []byte) (*StellarTOML, error) {
	if len(data) > MaxSize {
		return nil, ErrTooLarge
	}
	var t StellarTOML
	if err := toml.Unmarshal(data, &t); err != nil {
		return nil, syntaxError(err)
	}
	return &t, nil
}

// SigningKey reads only SIGNING_KEY from a stellar.toml, leniently: other fields may have any
// type (a client domain's VERSION = 2.0 or a currency's display_decimals = "2" is not this
// reader's business). It fails only when the file is not TOML or SIGNING_KEY is absent or not
// a string.
func SigningKey(data []byte) (string, error) {
	if len(data) > MaxSize {
		return "", ErrTooLarge
	}
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return "", syntaxError(err)
	}
	v, ok := m["SIGNING_KEY"]
	if !ok {
		return "", fmt.Errorf("SIGNING_KEY is missing")
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("SIGNING_KEY is not a string")
	}
	return s, nil
}

// SyntaxError is a TOML syntax error with its line.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

func syntaxError(err error) error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		return &SyntaxError{Line: row, Msg: de.Error()}
	}
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) {
		return err
	}
	return &SyntaxError{Msg: err.Error()}
}
