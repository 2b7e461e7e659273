//! Dutch for the public Trust Center (`app::trust`) and its walkthrough
//! form's answers (`server::http::trust_walkthrough`); server-rendered
//! only, so it stays out of the wasm bundle.

pub const TRUST_CATALOG: &[(&str, &str)] = &[
    ("not a known EU region", "geen bekende EU-regio"),
    (
        "eu (development default: METIVA_REGION is not set on this deployment)",
        "eu (standaard voor ontwikkeling: METIVA_REGION is op deze installatie niet ingesteld)",
    ),
    (
        "Compliance by architecture, not a policy page.",
        "Compliance door architectuur, niet door een beleidspagina.",
    ),
    ("Skip to content", "Naar de inhoud"),
    ("Trust Center", "Trust Center"),
    ("Processing terms", "Verwerkingsvoorwaarden"),
    (
        "Every figure on this page is read from the running system when the page is served. Metiva is pre-launch; we show no certification badges.",
        "Elk getal op deze pagina wordt uit het draaiende systeem gelezen op het moment dat de pagina wordt geserveerd. Metiva is nog niet gelanceerd; we tonen geen certificeringslogo's.",
    ),
    ("Trust and Security Center", "Trust- en Security Center"),
    (
        "Your clients' data is some of the most sensitive a Dutch agency holds: their leads, their contracts, their revenue. Metiva is built so the safe version is the only version you can ship.",
        "De gegevens van je klanten behoren tot het gevoeligste wat een Nederlands bureau beheert: hun leads, hun contracten, hun omzet. Metiva is zo gebouwd dat de veilige versie de enige versie is die je kunt uitrollen.",
    ),
    (
        "Pre-launch and honest about it: this page describes the architecture, not a list of certifications we have not yet earned.",
        "Nog niet gelanceerd en daar eerlijk over: deze pagina beschrijft de architectuur, geen lijst met certificeringen die we nog niet hebben behaald.",
    ),
    (
        "Want the legal and processing detail?",
        "Wil je de juridische en verwerkingsdetails?",
    ),
    (
        "The processing terms list our sub-processors with their region and purpose, the retention defaults and your rights, generated from this deployment's configuration.",
        "De verwerkingsvoorwaarden noemen onze subverwerkers met hun regio en doel, de standaard bewaartermijnen en je rechten, opgebouwd uit de configuratie van deze installatie.",
    ),
    (
        "Read the processing terms",
        "Lees de verwerkingsvoorwaarden",
    ),
    ("Configured", "Ingesteld"),
    (
        "Generated locally for development; a production deployment refuses to start without a configured key",
        "Lokaal gegenereerd voor ontwikkeling; een productie-installatie weigert te starten zonder ingestelde sleutel",
    ),
    ("Not configured", "Niet ingesteld"),
    (
        "Deny by default: every purpose is off until the visitor opts in",
        "Standaard geweigerd: elk doel staat uit tot de bezoeker toestemming geeft",
    ),
    (
        "NOT deny by default: a purpose is on before the visitor decides",
        "NIET standaard geweigerd: een doel staat aan voordat de bezoeker beslist",
    ),
    ("Business roles", "Bedrijfsrollen"),
    ("permissions, one registry", "rechten, één register"),
    ("Tenant isolation", "Scheiding tussen klanten"),
    (
        "then encrypted with AES-256-GCM",
        "daarna versleuteld met AES-256-GCM",
    ),
    ("Holds", "Klopt"),
    ("Development", "Ontwikkeling"),
    ("Does not hold", "Klopt niet"),
    ("Live from this deployment", "Live uit deze installatie"),
    (
        "Read from the role registry, the database catalog and the running configuration, not typed into this page.",
        "Gelezen uit het rollenregister, de databasecatalogus en de draaiende configuratie, niet in deze pagina getypt.",
    ),
    (
        "tenant tables, every one with row-level security enabled and forced under a restrictive tenant policy; the runtime role cannot bypass it",
        "klanttabellen, elk met row-level security ingeschakeld en afgedwongen onder een beperkend tenantbeleid; de runtime-rol kan daar niet omheen",
    ),
    ("checked", "gecontroleerd"),
    (
        "The isolation check fails on this deployment right now:",
        "De isolatiecontrole faalt op dit moment op deze installatie:",
    ),
    (
        "tenant tables have forced row-level security; problems found:",
        "klanttabellen hebben afgedwongen row-level security; gevonden problemen:",
    ),
    (
        "The database catalog could not be read just now, so we make no claim about it.",
        "De databasecatalogus kon nu niet worden gelezen, dus daar doen we geen uitspraak over.",
    ),
    ("Contacts without activity", "Contacten zonder activiteit"),
    ("years", "jaar"),
    (
        "Dutch fiscal duty; not configurable",
        "Nederlandse fiscale bewaarplicht; niet instelbaar",
    ),
    ("In use", "In gebruik"),
    (
        "Not connected on this deployment",
        "Niet gekoppeld op deze installatie",
    ),
    ("Provider", "Aanbieder"),
    ("Purpose", "Doel"),
    (
        "Metiva processes your clients' data on your behalf: you are the controller, we are the processor. This page is generated from this deployment's configuration when it is served.",
        "Metiva verwerkt de gegevens van je klanten in jouw opdracht: jij bent de verwerkingsverantwoordelijke, wij zijn de verwerker. Deze pagina wordt opgebouwd uit de configuratie van deze installatie op het moment dat ze wordt geserveerd.",
    ),
    ("Data region", "Dataregio"),
    ("Sub-processors", "Subverwerkers"),
    (
        "Each is configured by the operator with a METIVA_SUBPROCESSOR_* variable (provider|region). Third parties that receive personal data are called from background jobs only, and only after consent is checked again at the moment of sending.",
        "Elk wordt door de beheerder ingesteld met een METIVA_SUBPROCESSOR_*-variabele (aanbieder|regio). Derden die persoonsgegevens ontvangen, worden alleen vanuit achtergrondtaken aangeroepen, en pas nadat de toestemming op het moment van verzenden opnieuw is gecontroleerd.",
    ),
    ("Retention defaults", "Standaard bewaartermijnen"),
    ("Data-subject rights", "Rechten van betrokkenen"),
    (
        "each workspace may choose",
        "elke werkruimte kan kiezen uit",
    ),
    ("Access and portability", "Inzage en overdraagbaarheid"),
    (
        "A workspace exports its contacts, deals and audit log as CSV; we answer a person's access request from those records.",
        "Een werkruimte exporteert haar contacten, deals en auditlog als CSV; een inzageverzoek van een persoon beantwoorden we uit die gegevens.",
    ),
    ("Erasure", "Wissen"),
    (
        "A contact is erased in one transaction with a receipt that lists what was erased and what a legal duty keeps, such as invoices.",
        "Een contact wordt in één transactie gewist, met een bewijs dat vermeldt wat is gewist en wat een wettelijke plicht bewaart, zoals facturen.",
    ),
    ("Rectification", "Rectificatie"),
    (
        "Members with the right role edit a contact's details; the change is theirs, not a public form's.",
        "Leden met de juiste rol passen de gegevens van een contact aan; die wijziging is van hen, niet van een openbaar formulier.",
    ),
    ("Withdrawing consent", "Toestemming intrekken"),
    (
        "A visitor can withdraw consent from the banner at any time; the visitor link is removed and forwards stop.",
        "Een bezoeker kan de toestemming op elk moment via de banner intrekken; de koppeling met de bezoeker wordt verwijderd en doorzendingen stoppen.",
    ),
    ("Objection and restriction", "Bezwaar en beperking"),
    (
        "Without consent there is no person-level processing at all; retention periods limit how long anything is kept.",
        "Zonder toestemming is er helemaal geen verwerking op persoonsniveau; bewaartermijnen beperken hoe lang iets wordt bewaard.",
    ),
    (
        "Production refuses to start unless METIVA_REGION names an EU region, and it does here.",
        "Productie weigert te starten tenzij METIVA_REGION een EU-regio noemt, en dat doet deze installatie.",
    ),
    (
        "This deployment's configured region is not a known EU region, so we do not claim EU residency for it.",
        "De ingestelde regio van deze installatie is geen bekende EU-regio, dus we claimen hier geen opslag in de EU.",
    ),
    (
        "This is a development deployment without METIVA_REGION; production refuses to start unless it names an EU region.",
        "Dit is een ontwikkelinstallatie zonder METIVA_REGION; productie weigert te starten tenzij die een EU-regio noemt.",
    ),
    (
        "An encryption key is configured on this deployment.",
        "Op deze installatie is een encryptiesleutel ingesteld.",
    ),
    (
        "This development deployment generated its own key; production refuses to start without one.",
        "Deze ontwikkelinstallatie heeft zelf een sleutel gegenereerd; productie weigert te starten zonder sleutel.",
    ),
    (
        "No encryption key is configured on this deployment.",
        "Op deze installatie is geen encryptiesleutel ingesteld.",
    ),
    (
        "Checked in the running code: every consent purpose defaults to denied.",
        "Gecontroleerd in de draaiende code: elk toestemmingsdoel staat standaard op geweigerd.",
    ),
    (
        "The running code does NOT default every consent purpose to denied.",
        "De draaiende code zet NIET elk toestemmingsdoel standaard op geweigerd.",
    ),
    (
        "Every row of client data carries its company, and PostgreSQL row-level security is enabled and forced on every tenant table. Every query runs inside one company's tenant context; there is no shared pool a forgotten filter could leak.",
        "Elke rij klantgegevens draagt haar bedrijf, en PostgreSQL row-level security is ingeschakeld en afgedwongen op elke klanttabel. Elke query draait binnen de tenantcontext van één bedrijf; er is geen gedeelde pool die door een vergeten filter kan lekken.",
    ),
    ("Fail-closed binding", "Fail-closed koppeling"),
    (
        "Every request binds to a tenant from the verified company claim inside a signed token. Headers the browser sends are ignored, and if the claim cannot resolve, the request is refused, never guessed.",
        "Elk verzoek wordt gekoppeld aan een tenant via de geverifieerde bedrijfsclaim in een ondertekend token. Headers die de browser stuurt worden genegeerd, en als de claim niet klopt, wordt het verzoek geweigerd, nooit geraden.",
    ),
    (
        "There is no default tenant: without a claim, the database context is empty and reads see 0 rows.",
        "Er is geen standaardtenant: zonder claim is de databasecontext leeg en zien leesacties 0 rijen.",
    ),
    ("Central sign-in", "Centraal inloggen"),
    (
        "One separate login service verifies passwords with bcrypt, doing the same work for unknown emails, and mints a signed token. The dashboard never serves a login form and never sees a password.",
        "Eén aparte inlogdienst controleert wachtwoorden met bcrypt, doet hetzelfde werk voor onbekende e-mailadressen en geeft een ondertekend token uit. Het dashboard toont nooit een inlogformulier en ziet nooit een wachtwoord.",
    ),
    (
        "business roles, from one registry that both enforcement and the screens read.",
        "bedrijfsrollen, uit één register dat zowel de handhaving als de schermen lezen.",
    ),
    (
        "Before a visitor decides, nothing identifies them: no identifier, company-level counts only. A named person exists only after a consented form, and every decision is kept as proof.",
        "Voordat een bezoeker beslist, identificeert niets hem: geen kenmerk, alleen tellingen op bedrijfsniveau. Een persoon met naam bestaat pas na een formulier met toestemming, en elke beslissing wordt als bewijs bewaard.",
    ),
    ("EU data", "EU-gegevens"),
    (
        "Client data is stored and processed in the EU. IP addresses are truncated and encrypted at rest with a key the app refuses to run without in production.",
        "Klantgegevens worden in de EU opgeslagen en verwerkt. IP-adressen worden ingekort en versleuteld opgeslagen, met een sleutel zonder welke de app in productie weigert te draaien.",
    ),
    ("The guarantees", "De garanties"),
    (
        "Five things that are true on day one, not on the roadmap. Each line under a guarantee is checked on this deployment as the page is served.",
        "Vijf dingen die vanaf dag één kloppen, niet op de roadmap staan. Elke regel onder een garantie wordt op deze installatie gecontroleerd wanneer de pagina wordt geserveerd.",
    ),
    (
        "How a request binds to a tenant",
        "Hoe een verzoek aan een tenant wordt gekoppeld",
    ),
    (
        "Isolation only holds if every request lands in the right client. The claim always wins: a header such as X-Tenant is ignored, and revoking a member's access takes effect on their very next request, on every instance.",
        "Scheiding houdt alleen stand als elk verzoek bij de juiste klant terechtkomt. De claim wint altijd: een header als X-Tenant wordt genegeerd, en het intrekken van de toegang van een lid geldt vanaf zijn eerstvolgende verzoek, op elke instantie.",
    ),
    ("The sign-in hand-off", "De overdracht bij het inloggen"),
    (
        "Sign-in lives in a separate service with its own address. Only it holds the signing key; the dashboard holds the public key and can verify tokens, never mint them. Sessions can be revoked: sign-out, sign-out everywhere, and suspension.",
        "Inloggen gebeurt in een aparte dienst met een eigen adres. Alleen die heeft de ondertekeningssleutel; het dashboard heeft de publieke sleutel en kan tokens controleren, nooit uitgeven. Sessies zijn in te trekken: uitloggen, overal uitloggen en schorsen.",
    ),
    (
        "Defaults per workspace, in months",
        "Standaard per werkruimte, in maanden",
    ),
    ("visitors", "bezoekers"),
    ("contacts without activity", "contacten zonder activiteit"),
    ("audit log", "auditlog"),
    (
        "Invoices are kept for the Dutch fiscal period of",
        "Facturen worden bewaard voor de Nederlandse fiscale termijn van",
    ),
    ("Erasure with receipts", "Wissen met bewijs"),
    (
        "Erasing a contact removes the person, their visits, notes and tasks in one transaction. Deals stay, unlinked; consent proof stays under an anonymous tombstone. The receipt lists what was erased and what was kept and why, and holds no personal data. Erasing again returns the first receipt.",
        "Een contact wissen verwijdert de persoon, zijn bezoeken, notities en taken in één transactie. Deals blijven, ontkoppeld; het toestemmingsbewijs blijft onder een anonieme grafsteen. Het bewijs vermeldt wat is gewist en wat is bewaard en waarom, en bevat geen persoonsgegevens. Nogmaals wissen geeft het eerste bewijs terug.",
    ),
    (
        "Retention, swept hourly",
        "Bewaartermijnen, elk uur opgeschoond",
    ),
    (
        "A background sweep deletes what has outlived its period, in small batches, one workspace at a time.",
        "Een achtergrondtaak verwijdert wat zijn termijn heeft overschreden, in kleine batches, één werkruimte tegelijk.",
    ),
    ("Exports", "Exports"),
    (
        "Each workspace can download its contacts, deals and audit log as CSV, and each erasure receipt can be downloaded on its own.",
        "Elke werkruimte kan haar contacten, deals en auditlog als CSV downloaden, en elk wisbewijs is los te downloaden.",
    ),
    ("Audit log as a hash chain", "Auditlog als hashketen"),
    (
        "Sign-ins, role changes, IP reveals, exports, erasures and consent settings are audited with ids and reason codes, never personal data. Each workspace's rows form a hash chain; `metiva audit verify` names the first row that was changed.",
        "Inloggen, rolwijzigingen, het tonen van IP-adressen, exports, wissingen en toestemmingsinstellingen worden vastgelegd met id's en redencodes, nooit met persoonsgegevens. De rijen van elke werkruimte vormen een hashketen; `metiva audit verify` noemt de eerste rij die is gewijzigd.",
    ),
    ("Consent kept as proof", "Toestemming bewaard als bewijs"),
    (
        "Every decision is stored with its purposes, the banner version and a hash of the text the visitor saw, with withdrawals. Forwards to ad platforms wait for marketing consent.",
        "Elke beslissing wordt opgeslagen met haar doelen, de bannerversie en een hash van de tekst die de bezoeker zag, inclusief intrekkingen. Doorzendingen naar advertentieplatforms wachten op toestemming voor marketing.",
    ),
    ("AVG by architecture", "AVG door architectuur"),
    (
        "The privacy controls live in the code, not in a disclaimer. Here is what exists today, mechanism by mechanism.",
        "De privacymaatregelen zitten in de code, niet in een disclaimer. Dit is wat er vandaag bestaat, mechanisme voor mechanisme.",
    ),
    (
        "In the EU. This deployment is configured for",
        "In de EU. Deze installatie is ingesteld op",
    ),
    (
        "How is my clients' data kept apart?",
        "Hoe worden de gegevens van mijn klanten gescheiden?",
    ),
    (
        "Each client workspace is its own tenant context in PostgreSQL, enforced by forced row-level security under a restrictive policy. The catalog check above confirms it on this deployment.",
        "Elke klantwerkruimte is een eigen tenantcontext in PostgreSQL, afgedwongen met row-level security onder een beperkend beleid. De catalogcontrole hierboven bevestigt dat op deze installatie.",
    ),
    (
        "By forced row-level security per client workspace. The catalog check on this deployment currently reports a problem (see above), so we do not claim it holds here right now.",
        "Met afgedwongen row-level security per klantwerkruimte. De catalogcontrole op deze installatie meldt op dit moment een probleem (zie hierboven), dus we claimen niet dat het hier nu klopt.",
    ),
    (
        "Can a header or a link switch me into another client's data?",
        "Kan een header of een link mij in de gegevens van een andere klant brengen?",
    ),
    (
        "No. The workspace comes only from the signed token's claim. Tenant-looking headers are ignored and reported on the security page.",
        "Nee. De werkruimte komt alleen uit de claim in het ondertekende token. Headers die op een tenant lijken worden genegeerd en op de beveiligingspagina gemeld.",
    ),
    (
        "Where is our data stored?",
        "Waar worden onze gegevens opgeslagen?",
    ),
    (
        "Do you identify individual visitors?",
        "Identificeren jullie individuele bezoekers?",
    ),
    (
        "Only with consent. Without it, visits count at company level and no identifier is stored. A named person exists only after a consented form.",
        "Alleen met toestemming. Zonder toestemming tellen bezoeken op bedrijfsniveau en wordt geen kenmerk opgeslagen. Een persoon met naam bestaat pas na een formulier met toestemming.",
    ),
    (
        "Are you SOC 2 or ISO 27001 certified?",
        "Zijn jullie SOC 2- of ISO 27001-gecertificeerd?",
    ),
    (
        "No. Metiva is pre-launch, and we show no badge we have not earned. We would rather show you the mechanisms, on your own data.",
        "Nee. Metiva is nog niet gelanceerd, en we tonen geen logo dat we niet hebben verdiend. We laten je liever de mechanismen zien, op je eigen gegevens.",
    ),
    (
        "Can we get our data out, or have it erased?",
        "Kunnen we onze gegevens meenemen, of laten wissen?",
    ),
    (
        "Yes. CSV exports per workspace, erasure of a contact with a receipt, and retention periods you set within bounds.",
        "Ja. CSV-exports per werkruimte, het wissen van een contact met een bewijs, en bewaartermijnen die je binnen grenzen zelf kiest.",
    ),
    ("Questions", "Vragen"),
    ("Request arrives", "Verzoek komt binnen"),
    (
        "The browser calls the dashboard with its session cookie.",
        "De browser roept het dashboard aan met zijn sessiecookie.",
    ),
    ("Verify the token", "Token controleren"),
    (
        "Signature, algorithm, expiry, issuer and audience are checked on the server.",
        "Handtekening, algoritme, vervaldatum, uitgever en doelgroep worden op de server gecontroleerd.",
    ),
    ("Read the claim", "Claim lezen"),
    (
        "The company comes from the token's claim, never from a header or a form field.",
        "Het bedrijf komt uit de claim in het token, nooit uit een header of een formulierveld.",
    ),
    ("Bind the tenant", "Tenant koppelen"),
    (
        "The membership is checked, then every query runs in one transaction scoped to that company.",
        "Het lidmaatschap wordt gecontroleerd, daarna draait elke query in één transactie die tot dat bedrijf beperkt is.",
    ),
    ("Or fail closed", "Of fail-closed"),
    (
        "No valid claim or no active membership: the request is refused or sent to sign in.",
        "Geen geldige claim of geen actief lidmaatschap: het verzoek wordt geweigerd of naar het inloggen gestuurd.",
    ),
    ("Gated app", "Afgeschermde app"),
    (
        "An anonymous page request is sent to the login service, with a checked return address.",
        "Een anoniem paginaverzoek wordt naar de inlogdienst gestuurd, met een gecontroleerd terugkeeradres.",
    ),
    ("Central login", "Centrale login"),
    (
        "The login service shows the form and verifies the password with bcrypt.",
        "De inlogdienst toont het formulier en controleert het wachtwoord met bcrypt.",
    ),
    (
        "Someone in several client workspaces picks one; each stays isolated.",
        "Wie in meerdere klantwerkruimtes zit, kiest er één; elke werkruimte blijft gescheiden.",
    ),
    ("One-time code", "Eenmalige code"),
    (
        "The login service mints a signed token and hands back a one-time code, never the token in a URL.",
        "De inlogdienst geeft een ondertekend token uit en stuurt een eenmalige code terug, nooit het token in een URL.",
    ),
    ("Back to the app", "Terug naar de app"),
    (
        "The dashboard redeems the code on the server and keeps the token in a secure, HttpOnly cookie.",
        "Het dashboard wisselt de code op de server in en bewaart het token in een beveiligde HttpOnly-cookie.",
    ),
    (
        "Please check the fields marked below.",
        "Controleer de gemarkeerde velden hieronder.",
    ),
    ("Your name", "Je naam"),
    ("Work email", "Zakelijk e-mailadres"),
    ("Agency (optional)", "Bureau (optioneel)"),
    (
        "What would you like to see? (optional)",
        "Wat wil je graag zien? (optioneel)",
    ),
    (
        "We store your request as a contact in Metiva's own workspace to answer it. If you accepted identification in our consent banner, it is linked to this visit; otherwise it is not.",
        "We slaan je aanvraag op als contact in Metiva's eigen werkruimte om hem te beantwoorden. Heb je in onze toestemmingsbanner identificatie geaccepteerd, dan wordt hij aan dit bezoek gekoppeld; anders niet.",
    ),
    ("Book a walkthrough", "Plan een rondleiding"),
    (
        "Booking is not set up on this deployment yet: its operator workspace has no site.",
        "Plannen is op deze installatie nog niet ingericht: de beheerderswerkruimte heeft geen site.",
    ),
    ("See it on your own data", "Bekijk het op je eigen gegevens"),
    (
        "In 30 minutes we walk the isolation model, the fail-closed tenant binding and the consent flow, with the product open, no slides. Dutch or English.",
        "In 30 minuten lopen we het scheidingsmodel, de fail-closed tenantkoppeling en de toestemmingsflow door, met het product open en zonder slides. In het Nederlands of Engels.",
    ),
    ("Walkthrough requested", "Rondleiding aangevraagd"),
    (
        "Thank you. We will email you within two working days to pick a time.",
        "Dank je. We mailen je binnen twee werkdagen om een tijd te kiezen.",
    ),
    ("Back to the Trust Center", "Terug naar het Trust Center"),
    ("Back to the form", "Terug naar het formulier"),
    ("Hosting", "Hosting"),
    (
        "Runs the Metiva application: dashboard, sign-in service and ingest",
        "Draait de Metiva-applicatie: dashboard, inlogdienst en ingest",
    ),
    (
        "Stores all client data, isolated per client by row-level security",
        "Slaat alle klantgegevens op, per klant gescheiden door row-level security",
    ),
    ("Object storage", "Objectopslag"),
    (
        "Stores files such as invoice and contract PDFs",
        "Slaat bestanden op, zoals factuur- en contract-pdf's",
    ),
    ("Payments", "Betalingen"),
    (
        "Invoices and payments for retainers",
        "Facturen en betalingen voor retainers",
    ),
    ("Messaging", "Berichten"),
    (
        "Text messages and calls to contacts",
        "Sms'jes en telefoongesprekken met contacten",
    ),
    ("Ad platforms", "Advertentieplatforms"),
    (
        "Conversion uploads, only for visitors who granted marketing consent",
        "Conversie-uploads, alleen voor bezoekers die toestemming voor marketing gaven",
    ),
    ("Please enter your name.", "Vul je naam in."),
    (
        "Your name must be one line of at most 120 characters.",
        "Je naam moet één regel van hoogstens 120 tekens zijn.",
    ),
    (
        "Please enter an email address like name@agency.nl.",
        "Vul een e-mailadres in, zoals naam@bureau.nl.",
    ),
    (
        "The agency name must be one line of at most 120 characters.",
        "De naam van het bureau moet één regel van hoogstens 120 tekens zijn.",
    ),
    (
        "The message may be at most 2,000 characters of text.",
        "Het bericht mag hoogstens 2.000 tekens tekst zijn.",
    ),
    (
        "Your request could not be stored right now; nothing was kept. Please try again in a minute.",
        "Je aanvraag kon nu niet worden opgeslagen; er is niets bewaard. Probeer het over een minuut opnieuw.",
    ),
];
