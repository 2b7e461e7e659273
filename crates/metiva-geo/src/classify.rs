//! Telling consumer internet providers apart from companies.

use crate::asn::OrgKind;

/// Autonomous systems of major consumer access, mobile and cable providers,
/// with their names as published in `@ip-location-db/asn` (checked against
/// release 2.3.2026061719). Focused on the Netherlands, Belgium and Germany,
/// then the rest of Europe and North America, plus the largest consumer
/// networks elsewhere. Many more providers are caught
/// by the name heuristic; this list covers those whose registered names give
/// no hint (`KPN B.V.`, `Odido Netherlands B.V.`, `Vodafone GmbH`, ...).
const CONSUMER_ASNS: &[(u32, &str)] = &[
    // Netherlands
    (1136, "KPN B.V."),
    (2043, "KPN B.V."),
    (3265, "XS4ALL-NL KPN B.V."),
    (8737, "KPN B.V."),
    (12871, "KPN B.V."),
    (21286, "KPN B.V."),
    (197727, "KPN B.V."),
    (33915, "Vodafone Libertel B.V. (VodafoneZiggo)"),
    (9143, "Ziggo (historical; not in the current dataset)"),
    (13127, "Odido Netherlands B.V."),
    (25596, "Odido Netherlands B.V."),
    (31615, "Odido Netherlands B.V."),
    (50266, "Odido Netherlands B.V."),
    (15670, "T-mobile Netherlands B.V."),
    (20507, "T-mobile Netherlands B.V."),
    (34430, "T-mobile Netherlands B.V."),
    (15435, "DELTA Fiber Nederland B.V. (Delta, Caiway)"),
    (30925, "DELTA Fiber Nederland B.V."),
    (206238, "Freedom Internet BV"),
    (12414, "Solcon Internetdiensten B.V."),
    // Belgium and Luxembourg
    (5432, "Proximus NV"),
    (5488, "Proximus NV"),
    (6848, "Telenet BV"),
    (47377, "Orange Belgium SA"),
    (12392, "VOO S.A."),
    (9031, "EDPNET Belgium BV"),
    (6661, "POST Luxembourg"),
    // Germany
    (3320, "Deutsche Telekom AG"),
    (3209, "Vodafone GmbH"),
    (31334, "Vodafone GmbH (formerly Kabel Deutschland)"),
    (6805, "Telefonica Germany GmbH & Co.OHG (O2)"),
    (8881, "1&1 Versatel GmbH"),
    (8422, "NetCologne Gesellschaft fur Telekommunikation mbH"),
    (8767, "M-net Telekommunikations GmbH"),
    (9145, "EWE TEL GmbH"),
    (13045, "htp GmbH"),
    (15943, "wilhelm.tel GmbH"),
    (16202, "Tele Columbus AG (PYUR)"),
    (20880, "Tele Columbus AG (PYUR)"),
    (35244, "Tele Columbus AG (PYUR)"),
    (50436, "Tele Columbus AG (PYUR)"),
    (60294, "Deutsche Glasfaser Wholesale GmbH"),
    // Austria and Switzerland
    (8447, "A1 Telekom Austria AG"),
    (8412, "T-Mobile Austria GmbH (Magenta)"),
    (25255, "Hutchison Drei Austria GmbH"),
    (3303, "Swisscom (Schweiz) AG"),
    (6730, "Sunrise GmbH"),
    (15796, "Salt Mobile SA"),
    // France
    (3215, "Orange S.A."),
    (12322, "Free SAS"),
    (51207, "Free Mobile SAS"),
    (5410, "Bouygues Telecom SA"),
    (15557, "Societe Francaise Du Radiotelephone - SFR SA"),
    // United Kingdom and Ireland
    (2856, "British Telecommunications PLC"),
    (5089, "Virgin Media Limited"),
    (5607, "Sky UK Limited"),
    (13285, "TalkTalk Communications Limited"),
    (206067, "Hutchison 3G UK Limited (Three)"),
    (5378, "Vodafone Limited"),
    (5466, "Eircom Limited"),
    (15502, "Vodafone Ireland Limited"),
    // Spain, Italy, Portugal
    (3352, "TELEFONICA DE ESPANA S.A.U."),
    (12479, "Orange Espagne SA"),
    (12430, "VODAFONE ESPANA S.A.U."),
    (3269, "Telecom Italia S.p.A."),
    (30722, "Vodafone Italia S.p.A."),
    (1267, "WIND TRE S.P.A."),
    (12874, "Fastweb SpA"),
    (3243, "MEO - SERVICOS DE COMUNICACOES E MULTIMEDIA S.A."),
    (2860, "NOS COMUNICACOES, S.A."),
    // Nordics and Poland
    (3301, "Telia Company AB"),
    (1257, "Tele2 Sverige AB"),
    (2119, "Telenor Norge AS"),
    (3292, "TDC Holding A/S"),
    (16086, "DNA Oyj"),
    (1759, "Telia Finland Oyj"),
    (25400, "Telia Norge AS"),
    (8434, "Telenor Sverige AB"),
    (9158, "Telenor A/S"),
    (5617, "Orange Polska Spolka Akcyjna"),
    (12912, "T-Mobile Polska S.A."),
    (8374, "Polkomtel Sp. z o.o. (Plus)"),
    (9141, "P4 Sp. z o.o. (Play)"),
    (12741, "Netia SA"),
    // Elsewhere in Europe
    (1273, "Vodafone Group PLC"),
    (6739, "VODAFONE ONO, S.A."),
    (5610, "O2 Czech Republic, a.s."),
    (8708, "DIGI ROMANIA S.A."),
    (12389, "PJSC Rostelecom"),
    (8359, "MTS PJSC"),
    (8402, "PJSC \"Vimpelcom\" (Beeline)"),
    (16135, "TURKCELL ILETISIM HIZMETLERI A.S."),
    // North America
    (7922, "Comcast Cable Communications, LLC"),
    (7018, "AT&T Enterprises, LLC"),
    (701, "Verizon Business (Fios)"),
    (6167, "Verizon Business (Verizon Wireless)"),
    (22394, "Verizon Business (Verizon Wireless)"),
    (21928, "T-Mobile USA, Inc."),
    (20115, "Charter Communications (Spectrum)"),
    (10796, "Charter Communications Inc"),
    (11351, "Charter Communications Inc"),
    (11426, "Charter Communications Inc"),
    (11427, "Charter Communications Inc"),
    (12271, "Charter Communications Inc"),
    (20001, "Charter Communications Inc"),
    (33363, "Charter Communications, Inc"),
    (22773, "Cox Communications Inc."),
    (5650, "Frontier Communications of America, Inc."),
    (7029, "Windstream Communications LLC"),
    (6128, "Cablevision Systems Corp. (Optimum)"),
    (209, "CenturyLink Communications, LLC"),
    (812, "Rogers Communications Canada Inc."),
    (577, "Bell Canada"),
    (852, "TELUS Communications Inc."),
    (6327, "Shaw Communications"),
    (5769, "Videotron Ltee"),
    (6079, "RCN"),
    (19901, "Brightspeed"),
    // Largest consumer networks elsewhere
    (4134, "Chinanet"),
    (4837, "CHINA UNICOM China169 Backbone"),
    (17676, "SoftBank Corp."),
    (2516, "KDDI CORPORATION"),
    (9605, "NTT DOCOMO, INC."),
    (17858, "LG POWERCOMM"),
    (1221, "Telstra Limited"),
    (4804, "SingTel Optus Pty Ltd"),
    (9829, "Bharat Sanchar Nigam Ltd"),
    (55836, "Reliance Jio Infocomm Limited"),
    (45609, "Bharti Airtel Limited"),
    (24560, "Bharti Airtel Limited"),
    (26615, "TIM S/A"),
    (8151, "Uninet S.A. de C.V. (Telmex)"),
    (4230, "CLARO S.A."),
    // Satellite
    (
        14593,
        "Space Exploration Technologies Corporation (Starlink)",
    ),
];

/// Name words (compared with whole words of the lower-cased name) that mark
/// an access, mobile or telecom provider.
const CONSUMER_WORDS: &[&str] = &[
    "isp",
    "isps",
    "dsl",
    "adsl",
    "vdsl",
    "xdsl",
    "ftth",
    "fttb",
    "fttx",
    "broadband",
    "cable",
    "kabel",
    "fiber",
    "fibre",
    "fibra",
    "glasvezel",
    "glasfaser",
    "telecom",
    "telecoms",
    "telekom",
    "telco",
    "telephone",
    "telefonica",
    "communication",
    "communications",
    "wireless",
    "mobile",
    "mobiel",
    "cellular",
    "lte",
    "starlink",
    "provedor",
    // Operator groups whose every network is an access provider.
    "vodafone",
    "telia",
    "telenor",
    "verizon",
];

/// Word beginnings that mark such a provider (compounds and inflections:
/// "Telekommunikation", "Telecomunicacoes", "Cablevision", "Kabelmedien").
const CONSUMER_WORD_PREFIXES: &[&str] = &[
    "broadband",
    "breitband",
    "cable",
    "kabel",
    "glasfaser",
    "glasvezel",
    "mobilfunk",
    "telecommunicat",
    "telecomunica",
    "telekommunikat",
    "telekomunika",
    "comunicac",
];

/// Classifies the organisation behind an autonomous system.
///
/// Returns [`OrgKind::ConsumerIsp`] when `asn` is one of a fixed list of
/// major consumer access and mobile providers (KPN, VodafoneZiggo, Odido,
/// Delta, Proximus, Telenet, Deutsche Telekom, Vodafone, Orange, BT, Comcast
/// and others), or when `name` contains a word typical of access providers:
/// "broadband", "cable", "DSL", "fibre"/"fiber", "mobile", "wireless",
/// "telecom"/"telekom" (also in compounds such as "Telekommunikation"),
/// "communications", "ISP", the phrase "internet service(s)/provider", or the
/// name of an operator group (Vodafone, Telia, Telenor, Verizon).
/// Words are matched whole (case-insensitively, split at anything that is not
/// a letter or digit), so "Hispano" does not match "isp" and "Exxon Mobil"
/// does not match "mobile"; only the listed word beginnings (such as
/// "cable…", "kabel…", "telecommunicat…") match inside a longer word.
///
/// The heuristic is deliberately conservative: it prefers hiding a company
/// (a telecom supplier, a hosting firm called "… Internet Services") over
/// presenting a household's provider as a visiting company. Note that an ISP
/// is never the visitor's company even when it serves businesses, so hiding
/// every telecom operator is the right default. Everything else is
/// [`OrgKind::Business`].
pub fn classify(asn: u32, name: &str) -> OrgKind {
    if CONSUMER_ASNS.iter().any(|&(listed, _)| listed == asn) || name_looks_like_isp(name) {
        OrgKind::ConsumerIsp
    } else {
        OrgKind::Business
    }
}

fn name_looks_like_isp(name: &str) -> bool {
    let mut previous = "";
    for word in name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
    {
        let is = |listed: &&str| word.eq_ignore_ascii_case(listed);
        let starts_with = |prefix: &&str| {
            word.get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        };
        let internet_service = previous.eq_ignore_ascii_case("internet")
            && ["service", "services", "provider"].iter().any(is);
        if internet_service
            || CONSUMER_WORDS.iter().any(is)
            || CONSUMER_WORD_PREFIXES.iter().any(starts_with)
        {
            return true;
        }
        previous = word;
    }
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn listed_asns_are_unique() {
        let mut seen = HashSet::new();
        for (asn, name) in CONSUMER_ASNS {
            assert!(seen.insert(asn), "AS{asn} ({name}) listed twice");
        }
    }

    #[test]
    fn dutch_and_other_consumer_providers() {
        for (asn, name) in [
            (1136, "KPN B.V."),
            (33915, "Vodafone Libertel B.V."),
            (9143, "Ziggo B.V."),
            (50266, "Odido Netherlands B.V."),
            (31615, "Odido Netherlands B.V."),
            (15435, "DELTA Fiber Nederland B.V."),
            (5432, "Proximus NV"),
            (6848, "Telenet BV"),
            (3320, "Deutsche Telekom AG"),
            (3209, "Vodafone GmbH"),
            (3215, "Orange S.A."),
            (2856, "British Telecommunications PLC"),
            (7922, "Comcast Cable Communications, LLC"),
        ] {
            assert_eq!(classify(asn, name), OrgKind::ConsumerIsp, "AS{asn} {name}");
        }
        // The ASN alone is enough, whatever the registered name says.
        assert_eq!(classify(1136, "Anything"), OrgKind::ConsumerIsp);
    }

    #[test]
    fn companies_are_businesses() {
        for (asn, name) in [
            (15169, "Google LLC"),
            (8075, "Microsoft Corporation"),
            (43996, "Booking.com BV"),
            (16509, "Amazon.com, Inc."),
            (13335, "Cloudflare, Inc."),
            (31399, "Mercedes-Benz Group AG"),
            (15625, "ING Bank N.V."),
            (1766, "Exxon Mobil Corporation"),
            (64512, "Hispano Foods S.L."),
            (64513, "Telecommuting Solutions Inc"),
            (64514, "Eurofiber Cloud Infra B.V."),
            (64515, "Mobiliar Versicherungen"),
        ] {
            assert_eq!(classify(asn, name), OrgKind::Business, "AS{asn} {name}");
        }
    }

    #[test]
    fn name_heuristic() {
        for name in [
            "Example Broadband Ltd",
            "EXAMPLE CABLE TV",
            "Cablevision Systems Corp.",
            "Kabelplus GmbH",
            "Acme DSL Services",
            "Fibre Homes plc",
            "Google Fiber Inc.",
            "Deutsche Glasfaser Wholesale GmbH",
            "T-Mobile USA, Inc.",
            "Ram Mobile Data (Netherlands) B.V.",
            "Gamma Telecom Holdings Ltd",
            "A1 Telekom Austria AG",
            "NetCologne Gesellschaft fur Telekommunikation mbH",
            "Telecomunicacoes do Brasil",
            "Verizon Wireless",
            "Acme Internet Services B.V.",
            "Acme Internet Service Provider",
            "Acme-ISP",
            "Charter Communications Inc",
            "LINAGE COMUNICACIONES SAS",
            "Fast Telco",
            "Vodafone Group PLC",
            "Verizon Business",
            "Telia Norge AS",
        ] {
            assert_eq!(classify(64496, name), OrgKind::ConsumerIsp, "{name}");
        }
        for name in [
            "Internet Systems Consortium",
            "Dispatch Logistics",
            "Ispahan Carpets",
            "Mobilezone Holding",
            "Telemetry Corp",
            "Provider Holding",
        ] {
            assert_eq!(classify(64496, name), OrgKind::Business, "{name}");
        }
    }
}
