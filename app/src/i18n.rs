//! English and Dutch. The catalog is keyed by the English text: views call
//! `tr(lang, "English text")`; the Dutch comes from [`CATALOG`]. A string
//! missing from the catalog fails debug builds (and so the tests), and the
//! end-to-end tests walk the pages in Dutch looking for any English text
//! from the catalog.

use serde::{Deserialize, Serialize};

/// The two languages of the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    En,
    Nl,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nl => "nl",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "en" => Some(Lang::En),
            "nl" => Some(Lang::Nl),
            _ => None,
        }
    }

    /// English or Dutch, given both inline.
    pub fn t(self, en: &'static str, nl: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Nl => nl,
        }
    }
}

/// The text for `en` in `lang`.
pub fn tr(lang: Lang, en: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Nl => match CATALOG.iter().find(|(e, _)| *e == en) {
            Some((_, nl)) => nl,
            None => {
                debug_assert!(false, "missing from the i18n catalog: {en:?}");
                en
            }
        },
    }
}

/// The request's language, as the server negotiated it (query, cookie,
/// `Accept-Language`). English outside a request.
pub fn current() -> Lang {
    #[cfg(feature = "ssr")]
    {
        use leptos::prelude::use_context;
        use_context::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<Lang>().copied())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        Lang::En
    }
}

/// A role's name.
pub fn role(lang: Lang, key: &str) -> &'static str {
    let en = match key {
        "owner" => "Owner",
        "admin" => "Admin",
        "account_manager" => "Account manager",
        "sales" => "Sales",
        "marketing" => "Marketing",
        "finance" => "Finance",
        "member" => "Member",
        "viewer" => "Viewer",
        _ => return "?",
    };
    tr(lang, en)
}

/// A membership status.
pub fn status(lang: Lang, key: &str) -> &'static str {
    let en = match key {
        "active" => "Active",
        "suspended" => "Suspended",
        "invited" => "Invited",
        _ => return "?",
    };
    tr(lang, en)
}

/// A deal stage.
pub fn stage(lang: Lang, key: &str) -> &'static str {
    let en = match key {
        "lead" => "Lead",
        "qualified" => "Qualified",
        "proposal" => "Proposal",
        "won" => "Won",
        "lost" => "Lost",
        _ => return "?",
    };
    tr(lang, en)
}

/// (English, Dutch).
pub const CATALOG: &[(&str, &str)] = &[
    // Frame
    ("Overview", "Overzicht"),
    ("Members", "Leden"),
    ("Security", "Beveiliging"),
    ("System", "Systeem"),
    ("Main", "Hoofdmenu"),
    ("Language", "Taal"),
    (
        "Metiva: compliance by architecture, for Dutch agencies.",
        "Metiva: compliance door architectuur, voor Nederlandse bureaus.",
    ),
    ("Version", "Versie"),
    ("Page not found", "Pagina niet gevonden"),
    (
        "There is nothing at this address.",
        "Op dit adres staat niets.",
    ),
    ("Go to the overview", "Naar het overzicht"),
    ("Loading…", "Laden…"),
    // Overview
    (
        "Your agency's workspace for client leads, contacts, deals and website visitors, isolated per client by the database itself.",
        "De werkruimte van uw bureau voor leads, contacten, deals en websitebezoekers van klanten, per klant afgeschermd door de database zelf.",
    ),
    ("Workspace", "Werkruimte"),
    ("Switch workspace", "Andere werkruimte"),
    ("Sign out", "Uitloggen"),
    ("Signed in as", "Ingelogd als"),
    ("Role", "Rol"),
    ("Tenant binding", "Klantbinding"),
    (
        "Signed token, fail-closed. Browser-sent headers are ignored: the claim always wins.",
        "Ondertekend token, fail-closed. Headers van de browser worden genegeerd: de claim wint altijd.",
    ),
    ("Isolated per client", "Per klant afgeschermd"),
    (
        "Every query runs inside one company's own tenant context, enforced by PostgreSQL row-level security.",
        "Elke query draait in de eigen context van één bedrijf, afgedwongen door row-level security in PostgreSQL.",
    ),
    (
        "Consent, deny by default",
        "Toestemming, standaard geweigerd",
    ),
    (
        "Nothing identifies a website visitor before they agree.",
        "Niets identificeert een websitebezoeker voordat die toestemming geeft.",
    ),
    ("IP truncated and encrypted", "IP ingekort en versleuteld"),
    (
        "Stored addresses are cut to /24 or /48 and encrypted with AES-256-GCM.",
        "Opgeslagen adressen worden ingekort tot /24 of /48 en versleuteld met AES-256-GCM.",
    ),
    (
        "See the live state of the database on the",
        "Bekijk de actuele staat van de database op de",
    ),
    ("System page", "systeempagina"),
    // Roles and statuses
    ("Owner", "Eigenaar"),
    ("Admin", "Beheerder"),
    ("Account manager", "Accountmanager"),
    ("Sales", "Verkoop"),
    ("Marketing", "Marketing"),
    ("Finance", "Financiën"),
    ("Member", "Lid"),
    ("Viewer", "Kijker"),
    ("Active", "Actief"),
    ("Suspended", "Geschorst"),
    ("Invited", "Uitgenodigd"),
    // Members
    (
        "Who can enter this workspace, and with which role.",
        "Wie deze werkruimte mag betreden, en met welke rol.",
    ),
    ("The role was changed.", "De rol is gewijzigd."),
    (
        "The member was suspended and signed out of this workspace.",
        "Het lid is geschorst en uit deze werkruimte uitgelogd.",
    ),
    ("The member was reactivated.", "Het lid is weer actief."),
    (
        "The member was removed from this workspace.",
        "Het lid is uit deze werkruimte verwijderd.",
    ),
    (
        "The member was signed out everywhere.",
        "Het lid is overal uitgelogd.",
    ),
    ("Creating…", "Bezig met aanmaken…"),
    (
        "The invitation was created.",
        "De uitnodiging is aangemaakt.",
    ),
    (
        "Send this one-time link to the new member. It is shown only now and works for 7 days.",
        "Stuur deze eenmalige link naar het nieuwe lid. Hij wordt alleen nu getoond en werkt 7 dagen.",
    ),
    (
        "That session is not yours, or it has already ended.",
        "Die sessie is niet van u, of is al beëindigd.",
    ),
    (
        "Enter a valid email address.",
        "Vul een geldig e-mailadres in.",
    ),
    (
        "Enter a name (at most 200 characters).",
        "Vul een naam in (hoogstens 200 tekens).",
    ),
    (
        "That person is already a member of this workspace.",
        "Die persoon is al lid van deze werkruimte.",
    ),
    (
        "Only a suspended member can be reactivated.",
        "Alleen een geschorst lid kan weer worden geactiveerd.",
    ),
    ("Choose a role.", "Kies een rol."),
    ("Done.", "Klaar."),
    (
        "Your role does not allow managing members.",
        "Uw rol staat het beheren van leden niet toe.",
    ),
    (
        "Nobody can grant a role above their own, or change a member who ranks above them.",
        "Niemand kan een hogere rol toekennen dan de eigen rol, of een hoger geplaatst lid wijzigen.",
    ),
    (
        "The last owner cannot be removed, suspended or demoted.",
        "De laatste eigenaar kan niet worden verwijderd, geschorst of teruggezet.",
    ),
    (
        "That member is not in this workspace.",
        "Dat lid hoort niet bij deze werkruimte.",
    ),
    ("That change is not valid.", "Die wijziging is niet geldig."),
    (
        "The change could not be saved. Please try again.",
        "De wijziging kon niet worden opgeslagen. Probeer het opnieuw.",
    ),
    ("Change role", "Rol wijzigen"),
    ("Suspend", "Schorsen"),
    ("Reactivate", "Heractiveren"),
    ("Sign out everywhere", "Overal uitloggen"),
    ("Remove…", "Verwijderen…"),
    ("Yes, remove", "Ja, verwijderen"),
    ("Yes, suspend", "Ja, schorsen"),
    (
        "from this workspace? Their access ends at once.",
        "uit deze werkruimte verwijderen? De toegang stopt direct.",
    ),
    ("Remove", "Verwijder"),
    ("Invite a member", "Een lid uitnodigen"),
    ("Name", "Naam"),
    ("Email", "E-mailadres"),
    ("Create invitation", "Uitnodiging maken"),
    (
        "Member management is not available for your role. Ask an owner or admin to make changes.",
        "Ledenbeheer is niet beschikbaar voor uw rol. Vraag een eigenaar of beheerder om wijzigingen.",
    ),
    ("Status", "Status"),
    ("Last sign-in", "Laatst ingelogd"),
    ("Actions", "Acties"),
    ("never", "nooit"),
    ("Roles and permissions", "Rollen en rechten"),
    (
        "From the one registry the server enforces.",
        "Uit het ene register dat de server afdwingt.",
    ),
    ("Permission", "Recht"),
    ("allowed", "toegestaan"),
    ("not allowed", "niet toegestaan"),
    // Security
    ("Security and isolation", "Beveiliging en afscherming"),
    (
        "Read live from this workspace's token, the database catalog and the running configuration.",
        "Live gelezen uit het token van deze werkruimte, de databasecatalogus en de draaiende configuratie.",
    ),
    ("Your sessions", "Uw sessies"),
    ("Members and roles", "Leden en rollen"),
    ("Audit log", "Auditlog"),
    ("Source", "Bron"),
    ("Signed token", "Ondertekend token"),
    ("Binding", "Binding"),
    ("Fail-closed", "Fail-closed"),
    (
        "Browser-sent headers ignored. The claim always wins.",
        "Headers van de browser genegeerd. De claim wint altijd.",
    ),
    (
        "This request carried a tenant-looking header, which was ignored:",
        "Dit verzoek bevatte een header die op een klant lijkt; die is genegeerd:",
    ),
    (
        "The workspace above comes from the signed token.",
        "De werkruimte hierboven komt uit het ondertekende token.",
    ),
    ("Your client workspaces", "Uw klantwerkruimtes"),
    ("(current)", "(huidige)"),
    ("Isolated", "Afgeschermd"),
    ("Not isolated", "Niet afgeschermd"),
    ("Isolation self-test", "Zelftest afscherming"),
    (
        "Probes PostgreSQL's row-level security inside your own workspace, as the app's own database role. Each run is audited.",
        "Test de row-level security van PostgreSQL in uw eigen werkruimte, met de eigen databaserol van de app. Elke run wordt gelogd.",
    ),
    ("Last run:", "Laatste run:"),
    ("Last run: passed just now", "Laatste run: zojuist geslaagd"),
    ("Last run: failed just now", "Laatste run: zojuist mislukt"),
    ("passed at", "geslaagd op"),
    ("rows visible", "rijen zichtbaar"),
    (
        "rows of other workspaces returned",
        "rijen van andere werkruimtes teruggegeven",
    ),
    (
        "of your own persons visible",
        "van uw eigen personen zichtbaar",
    ),
    ("refused by PostgreSQL", "geweigerd door PostgreSQL"),
    (
        "refused, but not by row-level security",
        "geweigerd, maar niet door row-level security",
    ),
    (
        "row(s) written (rolled back)",
        "rij(en) geschreven (teruggedraaid)",
    ),
    ("failed at", "mislukt op"),
    ("Run the self-test", "Zelftest uitvoeren"),
    ("Running…", "Bezig…"),
    ("Pass", "Geslaagd"),
    ("Fail", "Mislukt"),
    (
        "With the tenant context removed, reads see 0 rows",
        "Zonder klantcontext zien leesacties 0 rijen",
    ),
    (
        "Reading rows of a workspace you do not own returns nothing",
        "Rijen lezen van een werkruimte die niet van u is, levert niets op",
    ),
    (
        "A write with a foreign company_id is rejected",
        "Een schrijfactie met een vreemde company_id wordt geweigerd",
    ),
    ("Data handling", "Gegevensverwerking"),
    ("Consent", "Toestemming"),
    ("Deny by default", "Standaard geweigerd"),
    ("IP at rest", "Opgeslagen IP"),
    ("Truncated + encrypted", "Ingekort + versleuteld"),
    ("Region", "Regio"),
    ("not set (development)", "niet ingesteld (ontwikkeling)"),
    ("Encryption key", "Encryptiesleutel"),
    ("Present", "Aanwezig"),
    ("Missing", "Ontbreekt"),
    (
        "GENERATED LOCALLY FOR DEVELOPMENT; never use these keys in production",
        "LOKAAL GEGENEREERD VOOR ONTWIKKELING; gebruik deze sleutels nooit in productie",
    ),
    (
        "DEVELOPMENT: the encryption and token keys were generated locally. Never use them in production.",
        "ONTWIKKELING: de encryptie- en tokensleutels zijn lokaal gegenereerd. Gebruik ze nooit in productie.",
    ),
    (
        "tenant tables, each with row-level security enabled and forced and a restrictive tenant policy; the runtime role cannot bypass them.",
        "klanttabellen, elk met row-level security aan en afgedwongen en een restrictief klantbeleid; de runtime-rol kan er niet omheen.",
    ),
    (
        "tenant tables, problems found:",
        "klanttabellen, problemen gevonden:",
    ),
    ("Checked", "Gecontroleerd"),
    // Sessions
    (
        "Where you are signed in. Addresses are stored only truncated and encrypted.",
        "Waar u bent ingelogd. Adressen worden alleen ingekort en versleuteld opgeslagen.",
    ),
    ("The session was signed out.", "De sessie is uitgelogd."),
    ("(this device)", "(dit apparaat)"),
    ("signed in", "ingelogd"),
    ("last seen", "laatst gezien"),
    ("Revoke", "Intrekken"),
    ("Sign out everywhere…", "Overal uitloggen…"),
    (
        "Every session ends, this one included. You will need your password again.",
        "Elke sessie stopt, ook deze. U hebt uw wachtwoord weer nodig.",
    ),
    ("Yes, sign out everywhere", "Ja, overal uitloggen"),
    ("Unknown device", "Onbekend apparaat"),
    ("unknown", "onbekend"),
    // Audit
    (
        "Every sensitive action in this workspace. Rows hold ids; names are looked up as you read.",
        "Elke gevoelige actie in deze werkruimte. Rijen bevatten id's; namen worden opgezocht bij het lezen.",
    ),
    ("Action", "Actie"),
    ("Actor", "Door"),
    ("Anyone", "Iedereen"),
    ("Filter", "Filteren"),
    ("Download CSV", "CSV downloaden"),
    ("When", "Wanneer"),
    ("Target", "Doel"),
    ("Request", "Verzoek"),
    ("Older entries", "Oudere regels"),
    // System
    (
        "Live facts read from the running database.",
        "Actuele feiten uit de draaiende database.",
    ),
    ("Database", "Database"),
    ("Run database check", "Databasecontrole uitvoeren"),
    ("Isolation", "Afscherming"),
    ("Checking the catalog…", "Catalogus controleren…"),
    ("PostgreSQL", "PostgreSQL"),
    ("Runtime role", "Runtime-rol"),
    ("Checks recorded", "Vastgelegde controles"),
    ("Last check", "Laatste controle"),
    ("Tenant tables", "Klanttabellen"),
    ("µs round trip", "µs heen en terug"),
    ("Lead", "Lead"),
    ("Qualified", "Gekwalificeerd"),
    ("Proposal", "Voorstel"),
    ("Won", "Gewonnen"),
    ("Lost", "Verloren"),
    ("Statistics", "Statistieken"),
    ("Recognition", "Herkenning"),
    ("Known network", "Bekend netwerk"),
    ("ASN dataset", "ASN-dataset"),
    ("Withdrawn", "Ingetrokken"),
    ("Granted", "Gegeven"),
    ("Rejected", "Geweigerd"),
    ("Visitors", "Bezoekers"),
    (
        "Company-level by default: which organisations visit, never who. A person appears only after a consented form capture.",
        "Standaard op bedrijfsniveau: welke organisaties bezoeken, nooit wie. Een persoon verschijnt pas na een formulier met toestemming.",
    ),
    ("page views", "paginaweergaven"),
    (
        "Page views per day, last 30 days; highest day:",
        "Paginaweergaven per dag, laatste 30 dagen; drukste dag:",
    ),
    (
        "Not identified (consumer ISP or unknown network)",
        "Niet herkend (consumentenprovider of onbekend netwerk)",
    ),
    ("Reveal IP", "IP-adres tonen"),
    (
        "Reason (recorded in the audit log; no personal data)",
        "Reden (komt in het auditlog; geen persoonsgegevens)",
    ),
    ("Reveal", "Tonen"),
    ("Consented", "Toestemming"),
    ("address ranges loaded.", "adresbereiken geladen."),
    (
        "The ASN dataset is not installed; only known networks identify companies.",
        "De ASN-dataset is niet geïnstalleerd; alleen bekende netwerken herkennen bedrijven.",
    ),
    ("Page views per day", "Paginaweergaven per dag"),
    ("page views in 30 days", "paginaweergaven in 30 dagen"),
    ("at company level", "op bedrijfsniveau herkend"),
    ("Visiting organisations", "Bezoekende organisaties"),
    ("Organisation", "Organisatie"),
    ("Views", "Weergaven"),
    ("Pages", "Pagina's"),
    ("First seen", "Eerst gezien"),
    ("Last seen", "Laatst gezien"),
    (
        "IP-to-ASN data: ip-location-db (@ip-location-db/asn), from RouteViews and DB-IP, licensed CC BY 4.0.",
        "IP-naar-ASN-gegevens: ip-location-db (@ip-location-db/asn), van RouteViews en DB-IP, licentie CC BY 4.0.",
    ),
    ("Consented visitors", "Bezoekers met toestemming"),
    (
        "Only visitors who granted statistics or recognition have an identifier. A person link exists only under recognition consent.",
        "Alleen bezoekers die toestemming gaven voor statistieken of herkenning hebben een code. Een koppeling met een persoon bestaat alleen met toestemming voor herkenning.",
    ),
    ("Visitor", "Bezoeker"),
    ("Person", "Persoon"),
    ("Deal", "Deal"),
    ("Recent page views", "Recente paginaweergaven"),
    (
        "Addresses are stored truncated (/24, /48) and encrypted. Revealing one needs the ip.reveal permission and a reason, and is audited.",
        "Adressen worden ingekort (/24, /48) en versleuteld opgeslagen. Eén tonen vereist de permissie ip.reveal en een reden, en komt in het auditlog.",
    ),
    ("Page", "Pagina"),
    ("Referrer", "Verwijzer"),
    (
        "What visitors of your clients' sites are asked, and the proof of every answer.",
        "Wat bezoekers van de sites van uw klanten gevraagd wordt, en het bewijs van elk antwoord.",
    ),
    ("Enabled", "Actief"),
    ("Disabled", "Uitgeschakeld"),
    ("Site key", "Sitesleutel"),
    ("Allowed origins", "Toegestane origins"),
    (
        "Paste this tag before </body> on every page of the site:",
        "Plak deze tag vóór </body> op elke pagina van de site:",
    ),
    (
        "Forms with the attribute data-metiva-capture (fields name, email, company) are captured only under recognition consent.",
        "Formulieren met het attribuut data-metiva-capture (velden name, email, company) worden alleen vastgelegd met toestemming voor herkenning.",
    ),
    ("Current", "Huidig"),
    (
        "Fixed, not a setting: before a visitor decides, nothing identifies them and visits count at company level only. Targeting and forwards wait for marketing consent.",
        "Vast, geen instelling: zolang een bezoeker niet kiest, herkent niets hem en tellen bezoeken alleen op bedrijfsniveau. Targeting en doorsturen wachten op toestemming voor marketing.",
    ),
    ("Decisions", "Keuzes"),
    ("Pending forwards", "Wachtende doorzendingen"),
    ("Install the snippet", "Het script installeren"),
    ("Banner texts", "Bannerteksten"),
    (
        "Purposes: statistics, recognition (person-level) and marketing (forwards). Reject is as easy as accept: one click each, and no cookie wall. Every decision records the version and the SHA-256 of the text shown.",
        "Doelen: statistieken, herkenning (op persoonsniveau) en marketing (doorsturen). Weigeren is even makkelijk als accepteren: één klik elk, en geen cookiemuur. Elke keuze legt de versie en de SHA-256 van de getoonde tekst vast.",
    ),
    ("Consent ledger", "Toestemmingsregister"),
    ("Decision", "Keuze"),
    ("Purposes", "Doelen"),
    ("Site", "Site"),
    ("Banner", "Banner"),
    ("Persons", "Personen"),
    ("Deals", "Deals"),
    ("Updated", "Bijgewerkt"),
    (
        "No consented website visitor is linked.",
        "Er is geen websitebezoeker met toestemming gekoppeld.",
    ),
    ("pending forwards", "wachtende doorzendingen"),
    ("Value", "Waarde"),
    ("Stage", "Fase"),
    ("← Persons", "← Personen"),
    ("Created", "Aangemaakt"),
    (
        "Website visitor → person → deal",
        "Websitebezoeker → persoon → deal",
    ),
    (
        "No such person in this workspace.",
        "Deze persoon bestaat niet in deze werkruimte.",
    ),
    ("← Deals", "← Deals"),
    ("No person linked.", "Geen persoon gekoppeld."),
    (
        "No such deal in this workspace.",
        "Deze deal bestaat niet in deze werkruimte.",
    ),
    (
        "Import known networks (CSV)",
        "Bekende netwerken importeren (CSV)",
    ),
    (
        "One network per line: cidr,organisation. The import replaces the list.",
        "Eén netwerk per regel: cidr,organisatie. De import vervangt de lijst.",
    ),
    ("Import", "Importeren"),
    ("Known networks", "Bekende netwerken"),
    (
        "Your own address ranges of organisations; they take precedence over the ASN dataset.",
        "Uw eigen adresbereiken van organisaties; ze gaan vóór de ASN-dataset.",
    ),
    ("Disable", "Uitschakelen"),
    ("Enable", "Inschakelen"),
    ("Register a site", "Een site registreren"),
    ("Domain", "Domein"),
    (
        "Allowed origins, one per line (empty: https:// and the domain)",
        "Toegestane origins, één per regel (leeg: https:// en het domein)",
    ),
    ("Register", "Registreren"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_has_each_english_text_once_and_every_entry_translated() {
        for (i, (en, nl)) in CATALOG.iter().enumerate() {
            assert!(!nl.is_empty(), "{en}");
            assert!(
                CATALOG.iter().skip(i + 1).all(|(e, _)| e != en),
                "duplicate entry {en:?}"
            );
        }
        assert_eq!(tr(Lang::Nl, "Overview"), "Overzicht");
        assert_eq!(tr(Lang::En, "Overview"), "Overview");
        assert_eq!(role(Lang::Nl, "viewer"), "Kijker");
    }
}
