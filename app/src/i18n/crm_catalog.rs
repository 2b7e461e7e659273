//! The English → Dutch catalog of the CRM workspace and the error view.

pub const CRM_CATALOG: &[(&str, &str)] = &[
    // Privacy and retention (/settings/privacy).
    ("Privacy and retention", "Privacy en bewaartermijnen"),
    // Offboarding the workspace (/settings/offboarding).
    ("Offboard this workspace", "Deze werkruimte opheffen"),
    ("1. Export everything first", "1. Exporteer eerst alles"),
    (
        "Offboarding deletes every record of this workspace, its files and its data key. Download the full workspace export first: afterwards there is no copy left to give you.",
        "Opheffen verwijdert elk record van deze werkruimte, de bestanden en de gegevenssleutel. Download eerst de volledige export van de werkruimte: daarna is er geen kopie meer die we u kunnen geven.",
    ),
    (
        "Request the full workspace export",
        "Volledige export van de werkruimte aanvragen",
    ),
    (
        "2. Confirm with the workspace's name",
        "2. Bevestig met de naam van de werkruimte",
    ),
    (
        "Every member loses access at once and you are signed out of this workspace. Your request is recorded; the operator of this Metiva installation then completes the deletion with the offboarding command, which deletes its rows and files and destroys its data key. Until then the data stays stored, but nobody can reach it. A receipt with counts only is kept.",
        "Alle leden verliezen meteen hun toegang en u wordt uit deze werkruimte afgemeld. Uw verzoek wordt vastgelegd; de beheerder van deze Metiva-installatie voltooit daarna de verwijdering met de opdracht voor opheffen, die de rijen en bestanden verwijdert en de gegevenssleutel vernietigt. Tot dan blijven de gegevens bewaard, maar kan niemand erbij. Een bewijs met alleen aantallen blijft bewaard.",
    ),
    (
        "Type the workspace's name to confirm:",
        "Typ ter bevestiging de naam van de werkruimte:",
    ),
    ("Offboard workspace", "Werkruimte opheffen"),
    (
        "The name you typed is not this workspace's name. Nothing was changed.",
        "De getypte naam is niet de naam van deze werkruimte. Er is niets gewijzigd.",
    ),
    (
        "Only an owner can offboard this workspace.",
        "Alleen een eigenaar kan deze werkruimte opheffen.",
    ),
    ("Retention", "Bewaartermijnen"),
    (
        "Data older than its period is deleted by the hourly sweep, in small batches. Audit log entries past their period go too, with their notes; a signed checkpoint keeps the audit chain verifiable.",
        "Gegevens ouder dan hun termijn worden elk uur in kleine porties verwijderd. Ook regels in het auditlogboek die hun termijn hebben overschreden verdwijnen, met hun toelichting; een ondertekend controlepunt houdt de auditketen controleerbaar.",
    ),
    ("Page views", "Paginaweergaven"),
    ("Visitors without activity", "Bezoekers zonder activiteit"),
    (
        "Contacts without a deal or activity",
        "Contactpersonen zonder deal of activiteit",
    ),
    (
        "Consent decisions of removed visitors",
        "Toestemmingsbesluiten van verwijderde bezoekers",
    ),
    ("Invoices", "Facturen"),
    (
        "years, fixed by Dutch fiscal law",
        "jaar, vastgelegd door de fiscale bewaarplicht",
    ),
    ("months", "maanden"),
    ("default", "standaard"),
    ("Allowed:", "Toegestaan:"),
    ("Save retention", "Bewaartermijnen opslaan"),
    ("Last sweep:", "Laatste opschoning:"),
    ("No sweep has run yet.", "Er is nog niet opgeschoond."),
    ("Retention sweep", "Opschoning (bewaartermijnen)"),
    ("last run at", "laatst uitgevoerd op"),
    // The move of sealed values to the data key (/settings/security).
    ("Data key migration", "Migratie naar de gegevenssleutel"),
    (
        "Every sealed value is under this workspace's data key",
        "Elke versleutelde waarde staat onder de gegevenssleutel van deze werkruimte",
    ),
    (
        "sealed values still under the master key",
        "versleutelde waarden nog onder de hoofdsleutel",
    ),
    // The audit chain's daily check (/settings/security).
    ("Audit chain", "Auditketen"),
    (
        "Not verified yet: the daily check runs at 03:30 (Amsterdam time).",
        "Nog niet geverifieerd: de dagelijkse controle draait om 03:30 (Nederlandse tijd).",
    ),
    ("verified at", "geverifieerd op"),
    ("rows, unbroken", "regels, ongebroken"),
    ("a row is missing", "er ontbreekt een regel"),
    ("a row was changed", "een regel is gewijzigd"),
    (
        "a row was changed or put in between",
        "een regel is gewijzigd of ertussen gezet",
    ),
    (
        "rows were cut off the end",
        "regels zijn aan het eind weggehaald",
    ),
    (
        "a retention checkpoint was forged or edited",
        "een controlepunt van de bewaartermijn is vervalst of gewijzigd",
    ),
    ("the chain was rewritten", "de keten is herschreven"),
    ("BROKEN at seq", "GEBROKEN bij volgnummer"),
    ("checked at", "gecontroleerd op"),
    // A contact's access-request export (contact page).
    (
        "For an access request: a ZIP with every row about this contact (JSON and CSV) and a README. The export is audited.",
        "Voor een inzageverzoek: een ZIP met alle gegevens over deze contactpersoon (JSON en CSV) en een toelichting. De export wordt vastgelegd in het auditlogboek.",
    ),
    (
        "Export this person's data",
        "Gegevens van deze persoon exporteren",
    ),
    // Erasure found by email (/settings/privacy).
    (
        "Erase a person found by email",
        "Iemand wissen die u op e-mailadres zoekt",
    ),
    ("Email address", "E-mailadres"),
    ("Find", "Zoeken"),
    (
        "Enter a whole email address.",
        "Vul een volledig e-mailadres in.",
    ),
    (
        "No contact in this workspace has that email address.",
        "Geen contactpersoon in deze werkruimte heeft dat e-mailadres.",
    ),
    (
        "Open the contact and use its erasure form:",
        "Open de contactpersoon en gebruik het wisformulier daar:",
    ),
    (
        "Enter a whole number of months within the allowed range.",
        "Vul een heel aantal maanden binnen het toegestane bereik in.",
    ),
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
        "Deleting is for a contact added by mistake: it goes with its notes and tasks, and its deals stay, unlinked. A contact with website visits or consent is erased by a member who may erase personal data. The deletion is audited.",
        "Verwijderen is voor een per vergissing toegevoegde contactpersoon: die verdwijnt met notities en taken, en deals blijven, ontkoppeld. Een contactpersoon met websitebezoeken of toestemming wordt gewist door een lid dat persoonsgegevens mag wissen. De verwijdering wordt gelogd.",
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
    // Tasks and notes.
    ("Tasks", "Taken"),
    ("My tasks", "Mijn taken"),
    ("No tasks yet.", "Nog geen taken."),
    ("Task", "Taak"),
    ("Due", "Deadline"),
    ("overdue", "te laat"),
    ("Open record", "Record openen"),
    ("Done", "Klaar"),
    ("Due (Amsterdam time)", "Deadline (Amsterdamse tijd)"),
    ("Assignee", "Toegewezen aan"),
    ("Add task", "Taak toevoegen"),
    ("No open tasks.", "Geen open taken."),
    ("No notes yet.", "Nog geen notities."),
    ("Note", "Notitie"),
    ("Add note", "Notitie toevoegen"),
    (
        "First response to the new lead",
        "Eerste reactie op de nieuwe lead",
    ),
    ("Open organisation", "Organisatie openen"),
    ("Add as organisation", "Als organisatie toevoegen"),
    ("Export contacts (CSV)", "Contactpersonen exporteren (CSV)"),
    // Pipeline settings, the deal list and the deal edit form.
    ("Stage name", "Naam van de fase"),
    ("Outcome", "Uitkomst"),
    ("Move its deals to", "Deals verplaatsen naar"),
    ("Target (minutes)", "Doel (minuten)"),
    ("Business day starts", "Werkdag begint"),
    ("Business day ends", "Werkdag eindigt"),
    ("Closing month", "Maand van afsluiten"),
    ("Sort by", "Sorteren op"),
    ("Order", "Volgorde"),
    (
        "Another stage has this name.",
        "Een andere fase heeft deze naam al.",
    ),
    (
        "A pipeline has at most 20 stages.",
        "Een pijplijn heeft hoogstens 20 fasen.",
    ),
    (
        "The pipeline needs at least one open, one won and one lost stage.",
        "De pijplijn heeft minstens één open, één gewonnen en één verloren fase nodig.",
    ),
    (
        "Choose a stage with the same outcome for this stage's deals.",
        "Kies voor de deals van deze fase een fase met dezelfde uitkomst.",
    ),
    (
        "Enter a whole number of minutes between 5 and 10080 (one week).",
        "Vul een heel aantal minuten in tussen 5 en 10080 (één week).",
    ),
    (
        "The business day must end after it starts.",
        "De werkdag moet eindigen nadat hij begint.",
    ),
    ("Enter a time, like 09:00.", "Vul een tijd in, zoals 09:00."),
    (
        "Enter a month, like 2027-03.",
        "Vul een maand in, zoals 2027-03.",
    ),
    ("Last changed", "Laatst gewijzigd"),
    ("All stages", "Alle fasen"),
    ("Everyone", "Iedereen"),
    ("Descending", "Aflopend"),
    ("Ascending", "Oplopend"),
    ("Apply", "Toepassen"),
    ("No deals match this filter.", "Geen deals voor dit filter."),
    ("deals", "deals"),
    ("page", "pagina"),
    ("← Previous", "← Vorige"),
    ("Next →", "Volgende →"),
    ("Export this list (CSV)", "Deze lijst exporteren (CSV)"),
    ("Edit deal", "Deal bewerken"),
    (
        "Deleting removes the deal and its stage history. The deletion is audited.",
        "Verwijderen wist de deal en zijn fasegeschiedenis. De verwijdering komt in het auditlog.",
    ),
    ("Delete deal", "Deal verwijderen"),
    (
        "Unknown pipeline change.",
        "Onbekende wijziging van de pijplijn.",
    ),
    ("Open", "Open"),
    ("Rename", "Hernoemen"),
    ("Move up", "Omhoog"),
    ("Move down", "Omlaag"),
    ("New stage", "Nieuwe fase"),
    ("Add stage", "Fase toevoegen"),
    ("Lead response target", "Reactietermijn voor leads"),
    (
        "A new lead gets a first-response task, due this long after it arrives, counted in business hours (Monday to Friday, Europe/Amsterdam).",
        "Een nieuwe lead krijgt een taak voor de eerste reactie, zo lang na binnenkomst, geteld in werkuren (maandag tot en met vrijdag, Europe/Amsterdam).",
    ),
    ("Save target", "Termijn opslaan"),
    ("minutes", "minuten"),
    ("Pipeline and lead response", "Pijplijn en reactie op leads"),
    ("Deal stages", "Fasen van deals"),
    (
        "The board shows a column per stage, in this order. Won and lost stages ask for a reason. A stage with deals can be removed once you say where its deals go.",
        "Het bord toont een kolom per fase, in deze volgorde. Gewonnen en verloren fasen vragen om een reden. Een fase met deals kun je verwijderen zodra je zegt waar de deals heen gaan.",
    ),
    ("Deal views", "Weergaven van deals"),
    ("Board", "Bord"),
    ("List", "Lijst"),
    ("Pipeline settings", "Instellingen pijplijn"),
    // CSV import of contacts and organisations.
    ("Import contacts (CSV)", "Contactpersonen importeren (CSV)"),
    (
        "Import organisations (CSV)",
        "Organisaties importeren (CSV)",
    ),
    (
        "Import contacts or organisations",
        "Contactpersonen of organisaties importeren",
    ),
    (
        "Imported: every line of the file was saved.",
        "Geïmporteerd: elke regel van het bestand is opgeslagen.",
    ),
    ("What the file holds", "Inhoud van het bestand"),
    ("CSV file", "CSV-bestand"),
    ("Or paste the CSV text", "Of plak de CSV-tekst"),
    ("Preview", "Voorbeeld bekijken"),
    (
        "The first line names the columns; the preview lets you choose the field each column goes to. Columns may be separated by commas or semicolons (as Excel writes them); the file is UTF-8 text.",
        "De eerste regel noemt de kolommen; in het voorbeeld kiest u per kolom het veld. Kolommen mogen gescheiden zijn door komma's of puntkomma's (zoals Excel ze schrijft); het bestand is UTF-8-tekst.",
    ),
    (
        "At most 5 MB and 20,000 lines. Nothing is saved until you confirm the preview, and then every line is saved at once, or none is.",
        "Hoogstens 5 MB en 20.000 regels. Er wordt niets opgeslagen tot u het voorbeeld bevestigt, en dan worden alle regels in één keer opgeslagen, of geen enkele.",
    ),
    (
        "Contacts: name, email, phone, organisation (by name: an organisation that does not exist yet is created), notes. Organisations: name, website domain, KvK number, VAT number, address, notes.",
        "Contactpersonen: naam, e-mailadres, telefoon, organisatie (op naam: een organisatie die nog niet bestaat, wordt aangemaakt), notities. Organisaties: naam, websitedomein, KvK-nummer, btw-nummer, adres, notities.",
    ),
    ("File", "Bestand"),
    ("Column mapping", "Kolomindeling"),
    ("Columns", "Kolommen"),
    (
        "The file is larger than 5 MB. Split it into smaller files.",
        "Het bestand is groter dan 5 MB. Splits het in kleinere bestanden.",
    ),
    (
        "The file has more than 20,000 lines. Split it into smaller files.",
        "Het bestand heeft meer dan 20.000 regels. Splits het in kleinere bestanden.",
    ),
    (
        "The file is not UTF-8 text. Save it as \"CSV UTF-8\" and upload it again.",
        "Het bestand is geen UTF-8-tekst. Sla het op als \"CSV UTF-8\" en upload het opnieuw.",
    ),
    (
        "The file has no lines to import: the first line names the columns, the lines below it are imported.",
        "Het bestand heeft geen regels om te importeren: de eerste regel noemt de kolommen, de regels daaronder worden geïmporteerd.",
    ),
    (
        "The file has more than 50 columns.",
        "Het bestand heeft meer dan 50 kolommen.",
    ),
    (
        "The file could not be read as CSV.",
        "Het bestand kon niet als CSV worden gelezen.",
    ),
    (
        "Choose a CSV file, or paste its text.",
        "Kies een CSV-bestand, of plak de tekst ervan.",
    ),
    (
        "This import is no longer available: it expired an hour after the upload, or it was already imported. Upload the file again.",
        "Deze import is niet meer beschikbaar: hij is een uur na het uploaden verlopen, of hij is al geïmporteerd. Upload het bestand opnieuw.",
    ),
    (
        "Choose the column that holds the name.",
        "Kies de kolom met de naam.",
    ),
    (
        "Each field can take one column only.",
        "Elk veld kan maar één kolom krijgen.",
    ),
    (
        "This column mapping does not fit the file. Preview the file again.",
        "Deze kolomindeling past niet bij het bestand. Bekijk het voorbeeld opnieuw.",
    ),
    (
        "This line has more cells than the first line has columns.",
        "Deze regel heeft meer cellen dan de eerste regel kolommen heeft.",
    ),
    (
        "An earlier line of this file has this email address.",
        "Een eerdere regel van dit bestand heeft dit e-mailadres.",
    ),
    (
        "An earlier line of this file has this website domain.",
        "Een eerdere regel van dit bestand heeft dit websitedomein.",
    ),
    (
        "An earlier line of this file has this name.",
        "Een eerdere regel van dit bestand heeft deze naam.",
    ),
    (
        "An organisation with this name already exists in this workspace.",
        "Er bestaat al een organisatie met deze naam in deze werkruimte.",
    ),
    (
        "Several organisations in this workspace have this name; link this contact by hand.",
        "Meerdere organisaties in deze werkruimte hebben deze naam; koppel deze contactpersoon met de hand.",
    ),
    ("Nothing was imported.", "Er is niets geïmporteerd."),
    ("Line", "Regel"),
    (
        "Problems not listed here:",
        "Problemen die hier niet staan:",
    ),
    ("semicolon (;)", "puntkomma (;)"),
    ("tab", "tabteken"),
    ("comma (,)", "komma (,)"),
    ("— leave out —", "— weglaten —"),
    ("Column in the file", "Kolom in het bestand"),
    ("Preview again", "Opnieuw bekijken"),
    ("← Upload another file", "← Een ander bestand uploaden"),
    ("Import preview", "Voorbeeld van de import"),
    ("Lines", "Regels"),
    ("Separator", "Scheidingsteken"),
    (
        "Nothing was imported. Correct the lines listed below in the file and upload it again, or change the column mapping.",
        "Er is niets geïmporteerd. Verbeter de regels hieronder in het bestand en upload het opnieuw, of wijzig de kolomindeling.",
    ),
    ("Problems", "Problemen"),
    (
        "Nothing is imported while a line has a problem. Line numbers count the first line (the column names) as line 1.",
        "Er wordt niets geïmporteerd zolang een regel een probleem heeft. Regelnummers tellen de eerste regel (de kolomnamen) als regel 1.",
    ),
    ("Problem", "Probleem"),
    (
        "The first lines, as they will be stored",
        "De eerste regels, zoals ze worden opgeslagen",
    ),
    (
        "New organisations the contacts name (created by the import)",
        "Nieuwe organisaties die de contactpersonen noemen (de import maakt ze aan)",
    ),
    ("Lines to import", "Te importeren regels"),
    ("Import now", "Nu importeren"),
    (
        "Correct the file and upload it again, or change the column mapping: nothing can be imported while there are problems.",
        "Verbeter het bestand en upload het opnieuw, of wijzig de kolomindeling: zolang er problemen zijn, kan er niets worden geïmporteerd.",
    ),
    ("more in the list", "meer in de lijst"),
    // Erasing a contact (issue 16).
    (
        "Erasing removes this contact and everything that identifies them: their visitors and page views, notes, tasks and search terms. Deals stay without the contact; consent decisions stay as proof under an anonymous id. A receipt without personal data is kept and the erasure is audited.",
        "Wissen verwijdert deze contactpersoon en alles wat hem of haar identificeert: bezoekers en paginaweergaven, notities, taken en zoektermen. Deals blijven, zonder de contactpersoon; toestemmingsbeslissingen blijven als bewijs onder een anoniem id. Er blijft een bewijs van wissing zonder persoonsgegevens, en het wissen wordt gelogd.",
    ),
    (
        "The person asked to be erased",
        "De persoon vroeg om wissing",
    ),
    ("Consent was withdrawn", "Toestemming is ingetrokken"),
    ("Duplicate record", "Dubbel record"),
    (
        "Other (say why in the note)",
        "Anders (licht toe in de notitie)",
    ),
    ("— choose —", "— kies —"),
    ("Note (no personal data)", "Notitie (geen persoonsgegevens)"),
    ("Erase contact", "Contactpersoon wissen"),
    (
        "Erased. The receipt holds no personal data:",
        "Gewist. Het bewijs van wissing bevat geen persoonsgegevens:",
    ),
    ("receipt (JSON)", "bewijs (JSON)"),
    ("receipt (text)", "bewijs (tekst)"),
    ("receipt (PDF)", "bewijs (PDF)"),
    (
        "The note must not name the person.",
        "De notitie mag de persoon niet noemen.",
    ),
    (
        "This contact has website visits or consent on record: erase it instead (a member who may erase personal data can).",
        "Deze contactpersoon heeft websitebezoeken of toestemming geregistreerd: wis hem in plaats daarvan (een lid dat persoonsgegevens mag wissen kan dat).",
    ),
    ("Next page", "Volgende pagina"),
    ("First page", "Eerste pagina"),
    (
        "That page link is not valid.",
        "Die paginalink is niet geldig.",
    ),
    // A visitor's record and its erasure and export (issue 16).
    ("← Visitors", "← Bezoekers"),
    ("none", "geen"),
    ("Consent decisions", "Toestemmingsbesluiten"),
    ("Forwarded conversions", "Doorgestuurde conversies"),
    (
        "No such visitor in this workspace.",
        "Deze bezoeker bestaat niet in deze werkruimte.",
    ),
    ("Erase visitor", "Bezoeker wissen"),
    ("Open the contact", "Contactpersoon openen"),
    (
        "This visitor is linked to a contact. Erase the contact: that erases this visitor too.",
        "Deze bezoeker is gekoppeld aan een contactpersoon. Wis de contactpersoon: dat wist deze bezoeker ook.",
    ),
    (
        "This visitor is linked to a contact: erase the contact, which erases this visitor too.",
        "Deze bezoeker is gekoppeld aan een contactpersoon: wis de contactpersoon, dat wist deze bezoeker ook.",
    ),
    (
        "Erasing removes this visitor and everything that identifies it: the visitor record, its page views with their encrypted IP addresses, and its forwarded conversions. Consent decisions stay as proof under an anonymous id. A receipt without personal data is kept and the erasure is audited.",
        "Wissen verwijdert deze bezoeker en alles wat hem identificeert: het bezoekersrecord, de paginaweergaven met hun versleutelde IP-adressen en de doorgestuurde conversies. Toestemmingsbesluiten blijven als bewijs bewaard onder een anoniem id. Een bewijs zonder persoonsgegevens wordt bewaard en het wissen wordt gelogd.",
    ),
    (
        "Export this visitor's data",
        "Gegevens van deze bezoeker exporteren",
    ),
    (
        "For an access request: a ZIP with every row about this visitor (JSON and CSV) and a README. The export is audited.",
        "Voor een inzageverzoek: een ZIP met elke rij over deze bezoeker (JSON en CSV) en een README. De export wordt gelogd.",
    ),
    // The IP reveal's reason code and note (issue 16).
    (
        "Reason (recorded in the audit log)",
        "Reden (komt in het auditlogboek)",
    ),
    ("Abuse report", "Melding van misbruik"),
    ("Security incident", "Beveiligingsincident"),
    ("Request from an authority", "Verzoek van een instantie"),
    ("The visitor's own request", "Verzoek van de bezoeker zelf"),
    (
        "Note (optional; do not write personal data)",
        "Notitie (optioneel; schrijf geen persoonsgegevens)",
    ),
    (
        "Choose a reason from the list; it is recorded in the audit log.",
        "Kies een reden uit de lijst; die komt in het auditlogboek.",
    ),
    (
        "Say why in the note when the reason is \"other\".",
        "Leg in de notitie uit waarom als de reden \"anders\" is.",
    ),
    (
        "The note is at most 200 characters of plain text, with no personal data (no names, email addresses or phone numbers).",
        "De notitie is hooguit 200 tekens platte tekst, zonder persoonsgegevens (geen namen, e-mailadressen of telefoonnummers).",
    ),
];
