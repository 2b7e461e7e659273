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
];
