// Code generated from Debian's iso-codes package (/usr/share/iso-codes/json) by hand; DO NOT EDIT.
// ISO 3166-1: 249 countries. ISO 639-1: 184 languages.

package sep9

var countryAlpha3 = set(`
	ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT
	AZE BDI BEL BEN BES BFA BGD BGR BHR BHS BIH BLM BLR BLZ BMU BOL
	BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN CIV CMR COD COG
	COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM
	DZA ECU EGY ERI ESH ESP EST ETH FIN FJI FLK FRA FRO FSM GAB GBR
	GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD GRL GTM GUF GUM GUY
	HKG HMD HND HRV HTI HUN IDN IMN IND IOT IRL IRN IRQ ISL ISR ITA
	JAM JEY JOR JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN LBR LBY
	LCA LIE LKA LSO LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL
	MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS MWI MYS MYT NAM
	NCL NER NFK NGA NIC NIU NLD NOR NPL NRU NZL OMN PAK PAN PCN PER
	PHL PLW PNG POL PRI PRK PRT PRY PSE PYF QAT REU ROU RUS RWA SAU
	SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR
	SVK SVN SWE SWZ SXM SYC SYR TCA TCD TGO THA TJK TKL TKM TLS TON
	TTO TUN TUR TUV TWN TZA UGA UKR UMI URY USA UZB VAT VCT VEN VGB
	VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE
`)

var countryAlpha2 = set(`
	AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
	BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
	BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN
	CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
	EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF
	GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
	HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM
	JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
	LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
	ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
	NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG
	PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
	SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS
	ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
	TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
	VN VU WF WS YE YT ZA ZM ZW
`)

var languageAlpha2 = set(`
	aa ab ae af ak am an ar as av ay az ba be bg bh
	bi bm bn bo br bs ca ce ch co cr cs cu cv cy da
	de dv dz ee el en eo es et eu fa ff fi fj fo fr
	fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz
	ia id ie ig ii ik io is it iu ja jv ka kg ki kj
	kk kl km kn ko kr ks ku kv kw ky la lb lg li ln
	lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb
	nd ne ng nl nn no nr nv ny oc oj om or os pa pi
	pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk
	sl sm sn so sq sr ss st su sv sw ta te tg th ti
	tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo
	wa wo xh yi yo za zh zu
`)
