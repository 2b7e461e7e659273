//! The English → Dutch catalog of the CRM workspace and the error view.

pub const CRM_CATALOG: &[(&str, &str)] = &[
    // The one error view.
    ("Sign in first", "Eerst inloggen"),
    ("Not allowed", "Niet toegestaan"),
    ("Not found", "Niet gevonden"),
    ("That did not go through", "Dat is niet gelukt"),
    ("Too many requests", "Te veel verzoeken"),
    ("Temporarily unavailable", "Tijdelijk niet beschikbaar"),
    ("Something went wrong", "Er ging iets mis"),
    ("Sign in again", "Opnieuw inloggen"),
    ("Back to the overview", "Terug naar het overzicht"),
    ("Sign in first.", "Log eerst in."),
    (
        "Your role does not allow this.",
        "Uw rol staat dit niet toe.",
    ),
    ("Not found.", "Niet gevonden."),
    (
        "The database is unavailable. Try again shortly.",
        "De database is niet bereikbaar. Probeer het zo opnieuw.",
    ),
    (
        "That conflicts with existing data.",
        "Dat botst met bestaande gegevens.",
    ),
    (
        "The database refused that change.",
        "De database weigerde die wijziging.",
    ),
    (
        "Your access to this workspace changed. Reload the page.",
        "Uw toegang tot deze werkruimte is gewijzigd. Laad de pagina opnieuw.",
    ),
    // The CRM workspace.
    ("Organisations", "Organisaties"),
    ("← Organisations", "← Organisaties"),
    ("New organisation", "Nieuwe organisatie"),
    ("Add organisation", "Organisatie toevoegen"),
    ("Delete organisation", "Organisatie verwijderen"),
    (
        "Deleting keeps its contacts; they are no longer linked to it.",
        "Verwijderen laat de contactpersonen staan; ze zijn er dan niet meer aan gekoppeld.",
    ),
    (
        "No such organisation in this workspace.",
        "Deze organisatie bestaat niet in deze werkruimte.",
    ),
    ("New contact", "Nieuwe contactpersoon"),
    ("Add contact", "Contactpersoon toevoegen"),
    ("Edit contact", "Contactpersoon bewerken"),
    ("Delete contact", "Contactpersoon verwijderen"),
    (
        "Deleting removes the contact; its deals and visitors stay, unlinked. The deletion is audited.",
        "Verwijderen haalt de contactpersoon weg; deals en bezoekers blijven, ontkoppeld. De verwijdering wordt gelogd.",
    ),
    (
        "A new lead (gets a first-response task)",
        "Een nieuwe lead (krijgt een eerste-reactietaak)",
    ),
    ("Contacts", "Contactpersonen"),
    ("Edit", "Bewerken"),
    ("Save changes", "Wijzigingen opslaan"),
    ("Saved.", "Opgeslagen."),
    ("Deleted.", "Verwijderd."),
    (
        "Nothing was saved. Correct the fields marked below.",
        "Er is niets opgeslagen. Verbeter de gemarkeerde velden hieronder.",
    ),
    (
        "This record changed since you opened it. Reload to see the current version, then make your change again.",
        "Dit record is gewijzigd sinds u het opende. Laad de pagina opnieuw voor de huidige versie en breng uw wijziging dan opnieuw aan.",
    ),
    ("— none —", "— geen —"),
    ("Field", "Veld"),
    ("Website domain", "Websitedomein"),
    ("KvK number", "KvK-nummer"),
    ("VAT number", "Btw-nummer"),
    ("Address", "Adres"),
    ("Notes", "Notities"),
    ("Phone", "Telefoon"),
    ("8 digits", "8 cijfers"),
    ("example.nl", "voorbeeld.nl"),
    ("NL123456789B01", "NL123456789B01"),
    (
        "+31 6 12345678 / 06 12345678",
        "+31 6 12345678 / 06 12345678",
    ),
    ("This field is required.", "Dit veld is verplicht."),
    ("This is too long.", "Dit is te lang."),
    (
        "A KvK number is eight digits.",
        "Een KvK-nummer bestaat uit acht cijfers.",
    ),
    (
        "A Dutch VAT number is NL, nine digits, B and two digits (NL123456789B01).",
        "Een Nederlands btw-nummer is NL, negen cijfers, B en twee cijfers (NL123456789B01).",
    ),
    (
        "Enter a website domain, like example.nl.",
        "Vul een websitedomein in, zoals voorbeeld.nl.",
    ),
    (
        "Another organisation in this workspace has this domain.",
        "Een andere organisatie in deze werkruimte heeft dit domein.",
    ),
    (
        "Another contact in this workspace has this email address.",
        "Een andere contactpersoon in deze werkruimte heeft dit e-mailadres.",
    ),
    (
        "Enter a phone number with country code (+31 6 12345678) or a Dutch number (06 12345678).",
        "Vul een telefoonnummer in met landcode (+31 6 12345678) of een Nederlands nummer (06 12345678).",
    ),
    ("Choose one from the list.", "Kies er een uit de lijst."),
    ("This value is not valid.", "Deze waarde is niet geldig."),
    // The deal pipeline.
    ("Negotiation", "Onderhandeling"),
    ("New deal", "Nieuwe deal"),
    ("Add deal", "Deal toevoegen"),
    ("Title", "Titel"),
    ("Value (euro)", "Waarde (euro)"),
    ("12.500,00", "12.500,00"),
    ("Expected close", "Verwachte sluiting"),
    ("Contact", "Contactpersoon"),
    ("Reason", "Reden"),
    (
        "Reason (needed for won or lost)",
        "Reden (nodig bij gewonnen of verloren)",
    ),
    ("Move", "Verplaatsen"),
    ("Stage history", "Fasegeschiedenis"),
    (
        "Enter an amount in euro, like 12.500,00.",
        "Vul een bedrag in euro in, zoals 12.500,00.",
    ),
    ("Enter a date.", "Vul een datum in."),
    (
        "Say why the deal was won or lost.",
        "Geef aan waarom de deal gewonnen of verloren is.",
    ),
    (
        "A new deal starts in an open stage.",
        "Een nieuwe deal begint in een open fase.",
    ),
    // Search.
    ("Search", "Zoeken"),
    ("Search…", "Zoeken…"),
    (
        "Search contacts, organisations and deals",
        "Zoek contactpersonen, organisaties en deals",
    ),
    (
        "Nothing found. Search by name, email, website domain or deal title (at least two characters).",
        "Niets gevonden. Zoek op naam, e-mailadres, websitedomein of dealtitel (minstens twee tekens).",
    ),
];
