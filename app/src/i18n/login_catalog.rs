//! The English → Dutch catalog of the login service's pages and the
//! dashboard's plain HTTP answers.

pub const LOGIN_CATALOG: &[(&str, &str)] = &[
    ("on", "op"),
    (
        "This sign-in link has expired or was already used.",
        "Deze inloglink is verlopen of al gebruikt.",
    ),
    ("Sign in", "Inloggen"),
    ("Your current password", "Uw huidige wachtwoord"),
    (
        "Choose a password (12 to 72 characters)",
        "Kies een wachtwoord (12 tot 72 tekens)",
    ),
    ("Repeat the password", "Herhaal het wachtwoord"),
    ("Invitation for", "Uitnodiging voor"),
    ("Accept the invitation", "Uitnodiging accepteren"),
    ("Join a workspace", "Word lid van een werkruimte"),
    (
        "This invitation link is not valid, was already used, or has expired.",
        "Deze uitnodigingslink is ongeldig, al gebruikt of verlopen.",
    ),
    ("That password is incorrect.", "Dat wachtwoord is onjuist."),
    (
        "Choose a password of at least 12 characters.",
        "Kies een wachtwoord van minstens 12 tekens.",
    ),
    (
        "Passwords can be at most 72 bytes long.",
        "Wachtwoorden zijn maximaal 72 bytes lang.",
    ),
    (
        "The passwords do not match.",
        "De wachtwoorden komen niet overeen.",
    ),
    ("Welcome", "Welkom"),
    (
        "Invitation accepted. You can now sign in.",
        "Uitnodiging geaccepteerd. U kunt nu inloggen.",
    ),
    (
        "This sign-in link is not valid or has expired.",
        "Deze inloglink is ongeldig of verlopen.",
    ),
    (
        "Open the dashboard to sign in",
        "Open het dashboard om in te loggen",
    ),
    (
        "You are signed out of Metiva on this device.",
        "U bent op dit apparaat uitgelogd bij Metiva.",
    ),
    ("Signed out", "Uitgelogd"),
    (
        "One front door for every workspace you work in.",
        "Eén voordeur voor al uw werkruimtes.",
    ),
    ("Password", "Wachtwoord"),
    ("Sign in to Metiva", "Inloggen bij Metiva"),
    (
        "Email or password is incorrect.",
        "E-mailadres of wachtwoord is onjuist.",
    ),
    ("Back to sign-in", "Terug naar inloggen"),
    (
        "Too many attempts. Try again in {secs} seconds.",
        "Te veel pogingen. Probeer het over {secs} seconden opnieuw.",
    ),
    (
        "Your account has no active workspace. Ask an owner of your agency's workspace to invite you.",
        "Uw account heeft geen actieve werkruimte. Vraag een eigenaar van de werkruimte van uw bureau om u uit te nodigen.",
    ),
    ("No workspace", "Geen werkruimte"),
    (
        "You belong to more than one client workspace. Each is isolated from the others.",
        "U hoort bij meer dan één klantwerkruimte. Elke werkruimte is afgeschermd van de andere.",
    ),
    ("Choose a workspace", "Kies een werkruimte"),
    (
        "You are not an active member of that workspace.",
        "U bent geen actief lid van die werkruimte.",
    ),
    (
        "Metiva sign-in service. The dashboard never sees your password.",
        "Metiva-inlogdienst. Het dashboard ziet uw wachtwoord nooit.",
    ),
    ("Back to visitors", "Terug naar bezoekers"),
    ("Invitation created", "Uitnodiging aangemaakt"),
    ("Back to members", "Terug naar leden"),
    (
        "Revealing an IP needs the ip.reveal permission. Ask an owner or admin.",
        "Een IP-adres tonen vereist de permissie ip.reveal. Vraag een eigenaar of beheerder.",
    ),
    (
        "Give a reason of 3 to 200 characters (no personal data); it is recorded in the audit log.",
        "Geef een reden van 3 tot 200 tekens (geen persoonsgegevens); die komt in het auditlog.",
    ),
    ("Reason required", "Reden verplicht"),
    ("IP revealed", "IP-adres getoond"),
    (
        "The stored, truncated address of this visit:",
        "Het opgeslagen, ingekorte adres van dit bezoek:",
    ),
    (
        "Recorded in the audit log as entry",
        "Vastgelegd in het auditlog als regel",
    ),
    ("Import refused", "Import geweigerd"),
    (
        "Importing known networks needs the consent.manage permission.",
        "Bekende netwerken importeren vereist de permissie consent.manage.",
    ),
    (
        "The import could not be stored; nothing changed.",
        "De import kon niet worden opgeslagen; er is niets gewijzigd.",
    ),
    ("Site not registered", "Site niet geregistreerd"),
    ("Back to consent", "Terug naar toestemming"),
    (
        "Registering a site needs the consent.manage permission.",
        "Een site registreren vereist de permissie consent.manage.",
    ),
    (
        "The site could not be stored; nothing changed.",
        "De site kon niet worden opgeslagen; er is niets gewijzigd.",
    ),
];
