package web

import (
	"sort"
	"strings"

	"github.com/anchorkit/anchor/internal/sep9"
	"github.com/anchorkit/anchor/internal/transfer"
)

// The message catalogue: every text a page shows, per language. A language is chosen by the
// lang parameter (RFC 4646: "es-AR" is Spanish); English when absent or not here.
var catalogue = map[string]map[string]string{
	"en": {
		"title.deposit":                         "Deposit of %s",
		"title.withdrawal":                      "Withdrawal of %s",
		"status":                                "Status",
		"amount_in":                             "You send",
		"amount_fee":                            "Fee",
		"amount_out":                            "You receive",
		"started":                               "Started",
		"updated":                               "Last update",
		"act_by":                                "Please act before",
		"history":                               "History",
		"instructions":                          "How to pay",
		"withdraw.send":                         "Send the tokens from your wallet to this account, with this memo:",
		"withdraw.account":                      "Account",
		"withdraw.memo":                         "Memo (%s)",
		"message":                               "Note from the anchor",
		"stellar_tx":                            "Stellar transaction",
		"forbidden.title":                       "This link does not open a transaction",
		"forbidden.text":                        "The link is incomplete or was altered. Open the transaction again from your wallet.",
		"notfound.title":                        "Transaction not found",
		"notfound.text":                         "There is no such transaction. Open it again from your wallet.",
		"used.title":                            "This link was already opened",
		"used.text":                             "For your safety a link opens the transaction once. Open the transaction again from your wallet.",
		"expired.title":                         "This link has expired",
		"expired.text":                          "Open the transaction again from your wallet to get a new link.",
		"rejected.title":                        "We cannot go on with this transaction",
		"rejected.text":                         "Your information was not accepted. Contact the anchor for details.",
		"flow.kyc.intro":                        "Before this transaction we need a few details about you.",
		"flow.continue":                         "Continue",
		"flow.wait":                             "Thank you. Your information is being reviewed; this page moves on by itself once it is accepted.",
		"flow.wait.refresh":                     "This page refreshes every few seconds.",
		"flow.amount":                           "Amount",
		"flow.limits":                           "Between %s and %s.",
		"flow.fees":                             "Fee: %s fixed plus %s%%.",
		"flow.quote":                            "You send %s and receive %s (fee %s). This price holds until %s.",
		"flow.exchange":                         "Your %s is converted to %s at the rate of the day it arrives.",
		"flow.confirm":                          "Confirm",
		"flow.csrf":                             "The form expired; please submit it again.",
		"close":                                 "Close",
		"footer":                                "",
		"status." + string(transfer.Incomplete): "Waiting for you to finish the request",
		"status." + string(transfer.PendingUserTransferStart):     "Waiting for your payment",
		"status." + string(transfer.PendingUserTransferComplete):  "Your funds are ready to collect",
		"status." + string(transfer.PendingExternal):              "Waiting for the bank",
		"status." + string(transfer.PendingAnchor):                "Being processed",
		"status." + string(transfer.OnHold):                       "On hold",
		"status." + string(transfer.PendingStellar):               "Being sent on the Stellar network",
		"status." + string(transfer.PendingTrust):                 "Waiting for your account to trust the asset",
		"status." + string(transfer.PendingUser):                  "Waiting for you",
		"status." + string(transfer.PendingCustomerInfoUpdate):    "Waiting for your personal information",
		"status." + string(transfer.PendingTransactionInfoUpdate): "Waiting for more information about the transaction",
		"status." + string(transfer.Expired):                      "Expired",
		"status." + string(transfer.NoMarket):                     "No market for this exchange",
		"status." + string(transfer.TooSmall):                     "Amount too small",
		"status." + string(transfer.TooLarge):                     "Amount too large",
		"status." + string(transfer.Error):                        "Failed",
		"status." + string(transfer.Refunded):                     "Refunded",
		"status." + string(transfer.Completed):                    "Completed",
	},
	"es": {
		"title.deposit":     "Depósito de %s",
		"title.withdrawal":  "Retiro de %s",
		"status":            "Estado",
		"amount_in":         "Usted envía",
		"amount_fee":        "Comisión",
		"amount_out":        "Usted recibe",
		"started":           "Iniciado",
		"updated":           "Última actualización",
		"act_by":            "Actúe antes de",
		"history":           "Historial",
		"instructions":      "Cómo pagar",
		"withdraw.send":     "Envíe los tokens desde su billetera a esta cuenta, con este memo:",
		"withdraw.account":  "Cuenta",
		"withdraw.memo":     "Memo (%s)",
		"message":           "Nota del anchor",
		"stellar_tx":        "Transacción Stellar",
		"forbidden.title":   "Este enlace no abre una transacción",
		"forbidden.text":    "El enlace está incompleto o fue alterado. Abra la transacción de nuevo desde su billetera.",
		"notfound.title":    "Transacción no encontrada",
		"notfound.text":     "No existe esa transacción. Ábrala de nuevo desde su billetera.",
		"used.title":        "Este enlace ya se abrió",
		"used.text":         "Por su seguridad un enlace abre la transacción una sola vez. Ábrala de nuevo desde su billetera.",
		"expired.title":     "Este enlace venció",
		"expired.text":      "Abra la transacción de nuevo desde su billetera para obtener un enlace nuevo.",
		"rejected.title":    "No podemos continuar con esta transacción",
		"rejected.text":     "Sus datos no fueron aceptados. Contacte al anchor para más detalles.",
		"flow.kyc.intro":    "Antes de esta transacción necesitamos algunos datos suyos.",
		"flow.continue":     "Continuar",
		"flow.wait":         "Gracias. Sus datos están en revisión; esta página avanza sola cuando sean aceptados.",
		"flow.wait.refresh": "Esta página se actualiza cada pocos segundos.",
		"flow.amount":       "Monto",
		"flow.limits":       "Entre %s y %s.",
		"flow.fees":         "Comisión: %s fija más %s%%.",
		"flow.quote":        "Usted envía %s y recibe %s (comisión %s). Este precio vale hasta %s.",
		"flow.exchange":     "Su %s se convierte a %s al tipo de cambio del día en que llega.",
		"flow.confirm":      "Confirmar",
		"flow.csrf":         "El formulario venció; envíelo de nuevo.",
		"close":             "Cerrar",
		// KYC form labels: field.<SEP-9 name>; a field without one shows SEP-9's description.
		"field.first_name":                      "Nombre",
		"field.last_name":                       "Apellido",
		"field.additional_name":                 "Segundo nombre",
		"field.email_address":                   "Correo electrónico",
		"field.mobile_number":                   "Teléfono móvil",
		"field.address":                         "Dirección",
		"field.city":                            "Ciudad",
		"field.postal_code":                     "Código postal",
		"field.address_country_code":            "País de residencia (código ISO de 3 letras)",
		"field.birth_date":                      "Fecha de nacimiento",
		"field.id_type":                         "Tipo de documento de identidad",
		"field.id_number":                       "Número de documento de identidad",
		"field.tax_id":                          "Número de identificación fiscal",
		"field.bank_account_number":             "Número de cuenta bancaria",
		"field.bank_account_type":               "Tipo de cuenta (corriente o de ahorros)",
		"field.bank_number":                     "Número del banco (routing number en EE. UU.)",
		"field.bank_name":                       "Nombre del banco",
		"field.photo_id_front":                  "Foto del frente del documento de identidad o pasaporte",
		"field.photo_id_back":                   "Foto del dorso del documento de identidad",
		"field.proof_of_address":                "Comprobante de domicilio",
		"status." + string(transfer.Incomplete): "Esperando que termine la solicitud",
		"status." + string(transfer.PendingUserTransferStart):     "Esperando su pago",
		"status." + string(transfer.PendingUserTransferComplete):  "Sus fondos están listos para retirar",
		"status." + string(transfer.PendingExternal):              "Esperando al banco",
		"status." + string(transfer.PendingAnchor):                "En proceso",
		"status." + string(transfer.OnHold):                       "En espera",
		"status." + string(transfer.PendingStellar):               "Enviándose por la red Stellar",
		"status." + string(transfer.PendingTrust):                 "Esperando que su cuenta confíe en el activo",
		"status." + string(transfer.PendingUser):                  "Esperándolo a usted",
		"status." + string(transfer.PendingCustomerInfoUpdate):    "Esperando sus datos personales",
		"status." + string(transfer.PendingTransactionInfoUpdate): "Esperando más información sobre la transacción",
		"status." + string(transfer.Expired):                      "Vencida",
		"status." + string(transfer.NoMarket):                     "No hay mercado para este cambio",
		"status." + string(transfer.TooSmall):                     "Monto demasiado pequeño",
		"status." + string(transfer.TooLarge):                     "Monto demasiado grande",
		"status." + string(transfer.Error):                        "Fallida",
		"status." + string(transfer.Refunded):                     "Reembolsada",
		"status." + string(transfer.Completed):                    "Completada",
	},
}

// TextsMarkdown is docs/page-texts.md: every text of the pages, in each language, for
// operators who replace them (pages.texts).
func TextsMarkdown() string {
	langs := make([]string, 0, len(catalogue))
	for l := range catalogue {
		if l != "en" {
			langs = append(langs, l)
		}
	}
	sort.Strings(langs)
	langs = append([]string{"en"}, langs...)
	seen := map[string]bool{}
	var keys []string
	for _, m := range catalogue {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# The texts of the pages\n\n<!-- Generated by `make docs` from internal/web/messages.go; do not edit. -->\n\n")
	b.WriteString("Every text shown on the pages users see (SEP-24's flow, the `more_info_url` page), by key. ")
	b.WriteString("Replace any of them, per language, or add a language, with `pages.texts` in `anchor.yaml`:\n\n")
	b.WriteString("```yaml\npages:\n  texts:\n    en:\n      flow.kyc.intro: \"Welcome to ACME! Before your first transfer we need a few details.\"\n      footer: \"Questions? support@acme.example\"\n```\n\n")
	b.WriteString("A replacement keeps the placeholders (`%s`) of the English text, in the same order, and writes `%%` for a percent sign; ")
	b.WriteString("anchor serve refuses to start otherwise, naming the key. A language without a text falls back to English. ")
	b.WriteString("`footer` is empty by default (no footer). The KYC form's labels are `field.<SEP-9 name>` ")
	b.WriteString("(any SEP-9 field may have one); a field without one in the page's language or English shows SEP-9's description ")
	b.WriteString("(in italics below).\n\n")
	b.WriteString("| key | " + strings.Join(langs, " | ") + " |\n|---|" + strings.Repeat("---|", len(langs)) + "\n")
	for _, k := range keys {
		b.WriteString("| `" + k + "` |")
		for _, l := range langs {
			v, ok := catalogue[l][k]
			if name, isField := strings.CutPrefix(k, "field."); isField && !ok && l == "en" {
				if f, known := sep9.Lookup(name); known {
					v = "*" + f.Description + "*"
				}
			}
			b.WriteString(" " + strings.ReplaceAll(v, "|", "\\|") + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}
