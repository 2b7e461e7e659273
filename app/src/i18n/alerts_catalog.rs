//! The English → Dutch catalog of SLA breach notices and `/settings/alerts`.

pub const ALERTS_CATALOG: &[(&str, &str)] = &[
    ("SLA breached", "SLA overschreden"),
    ("SLA breaches", "SLA-overschrijdingen"),
    (
        "A first response passed its SLA deadline",
        "Een eerste reactie is over de SLA-termijn heen",
    ),
    ("Dismiss", "Sluiten"),
    ("SMS alerts", "Sms-meldingen"),
    (
        "Get an SMS when a first response assigned to you passes its SLA deadline. Verify your mobile number first.",
        "Ontvang een sms als een eerste reactie die aan u is toegewezen over de SLA-termijn gaat. Verifieer eerst uw mobiele nummer.",
    ),
    ("Mobile number", "Mobiel nummer"),
    ("Verified; ends in", "Geverifieerd; eindigt op"),
    ("No verified number yet.", "Nog geen geverifieerd nummer."),
    ("Send code", "Code versturen"),
    (
        "Code sent to the number ending in",
        "Code verstuurd naar het nummer dat eindigt op",
    ),
    ("Verify", "Verifiëren"),
    ("SLA breach alerts by SMS", "SLA-meldingen per sms"),
    ("On", "Aan"),
    ("Off", "Uit"),
    ("Turn on", "Aanzetten"),
    ("Turn off", "Uitzetten"),
    (
        "Enter a mobile number, for example 06 1234 5678 or +31 6 1234 5678.",
        "Vul een mobiel nummer in, bijvoorbeeld 06 1234 5678 of +31 6 1234 5678.",
    ),
    (
        "Too many codes requested: at most 3 per hour. Try again later.",
        "Te veel codes aangevraagd: hoogstens 3 per uur. Probeer het later opnieuw.",
    ),
    ("Request a code first.", "Vraag eerst een code aan."),
    (
        "That code has expired (codes are valid for 10 minutes). Request a new one.",
        "Die code is verlopen (codes zijn 10 minuten geldig). Vraag een nieuwe aan.",
    ),
    (
        "Too many wrong tries (5). Request a new code.",
        "Te vaak een verkeerde code (5). Vraag een nieuwe code aan.",
    ),
    (
        "That code is not right. Check the SMS and try again.",
        "Die code klopt niet. Controleer de sms en probeer het opnieuw.",
    ),
    (
        "Verify a phone number first.",
        "Verifieer eerst een telefoonnummer.",
    ),
    (
        "A code is on its way by SMS. It is valid for 10 minutes.",
        "Er is een code per sms onderweg. Die is 10 minuten geldig.",
    ),
    (
        "Your phone number is verified.",
        "Uw telefoonnummer is geverifieerd.",
    ),
    ("SMS alerts are on.", "Sms-meldingen staan aan."),
    ("SMS alerts are off.", "Sms-meldingen staan uit."),
];
