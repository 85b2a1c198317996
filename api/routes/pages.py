"""Our own pages and the widget's files: GET / (demo page), /embed (the chat as a page), /widget.js, /widget.css."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter(include_in_schema=False)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
def page_csp(frame_ancestors: list[str]) -> str:
    """Return our pages' CSP; ``frame_ancestors`` (KB_API__FRAME_ANCESTORS) are the sites that may frame them."""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        f"frame-ancestors {' '.join(frame_ancestors) or chr(39) + 'none' + chr(39)}; base-uri 'none'; "
        "form-action 'self'"
    )


PAGE_CSP = page_csp(["*"])  # the default: any site may put /embed in an iframe
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
STATIC_FILES = {
    "widget.js": "text/javascript; charset=utf-8",
    "widget.css": "text/css; charset=utf-8",
    "demo.css": "text/css; charset=utf-8",
    "document.css": "text/css; charset=utf-8",
}

Language = Literal["fi", "sv", "en"]
LANGUAGE_NAMES = {"fi": "Suomeksi", "sv": "På svenska", "en": "In English"}

# The demo page imitates a ministry's page; it says plainly that it is a demonstration.
DEMO_TEXT: dict[str, dict[str, str]] = {
    "fi": {
        "title": "Ihmiskaupan vastainen työ – Esimerkkiministeriö (esittelysivu)",
        "banner": "Esittelysivu. Esimerkkiministeriö on keksitty. Sivu näyttää, miltä Majakka-keskustelu näyttää "
        "viranomaisen sivulla.",
        "skip": "Siirry sisältöön",
        "ministry": "Esimerkkiministeriö",
        "languages": "Kieli",
        "nav": "Päävalikko",
        "nav_items": "Etusivu|Ajankohtaista|Ihmiskaupan vastainen työ|Yhteystiedot",
        "heading": "Ihmiskaupan vastainen työ",
        "lead": "Ihmiskauppa on vakava rikos. Siinä ihmistä käytetään hyväksi esimerkiksi työssä, seksin myynnissä "
        "tai rikosten tekemisessä.",
        "body": "Suomessa ihmiskaupan uhri voi saada apua ihmiskaupan uhrien auttamisjärjestelmästä. Apu on "
        "maksutonta.|Voit kysyä ihmiskaupasta tämän sivun keskustelussa. Avaa keskustelu oikean alakulman "
        "painikkeesta. Vastaukset tulevat virallisesta aineistosta, ja jokaisella vastauksella on lähde.",
        "danger": "Jos olet vaarassa nyt, soita hätänumeroon 112.",
        "footer": "Esittelysivu – ei oikea viranomaisen sivu. Majakka-keskustelu ei tallenna kysymyksiä.",
    },
    "sv": {
        "title": "Arbetet mot människohandel – Exempelministeriet (demosida)",
        "banner": "Demosida. Exempelministeriet är påhittat. Sidan visar hur Majakka-chatten ser ut på en "
        "myndighets webbplats.",
        "skip": "Gå till innehållet",
        "ministry": "Exempelministeriet",
        "languages": "Språk",
        "nav": "Huvudmeny",
        "nav_items": "Startsida|Aktuellt|Arbetet mot människohandel|Kontakt",
        "heading": "Arbetet mot människohandel",
        "lead": "Människohandel är ett allvarligt brott. En människa utnyttjas till exempel i arbete, i sexhandel "
        "eller för att begå brott.",
        "body": "I Finland kan ett offer för människohandel få hjälp av hjälpsystemet för offer för "
        "människohandel. Hjälpen är gratis.|Du kan fråga om människohandel i chatten på den här sidan. Öppna "
        "chatten med knappen i nedre högra hörnet. Svaren kommer från officiellt material, och varje svar har en "
        "källa.",
        "danger": "Om du är i fara nu, ring nödnumret 112.",
        "footer": "Demosida – inte en riktig myndighets sida. Majakka-chatten sparar inte frågor.",
    },
    "en": {
        "title": "Action against human trafficking – Ministry of Examples (demo page)",
        "banner": "Demo page. The Ministry of Examples is made up. This page shows how the Majakka chat looks on an "
        "authority's website.",
        "skip": "Skip to content",
        "ministry": "Ministry of Examples",
        "languages": "Language",
        "nav": "Main menu",
        "nav_items": "Home|News|Action against human trafficking|Contact",
        "heading": "Action against human trafficking",
        "lead": "Human trafficking is a serious crime. A person is exploited, for example in work, in selling sex "
        "or in committing crimes.",
        "body": "In Finland, a victim of human trafficking can get help from the Assistance System for Victims of "
        "Human Trafficking. The help is free.|You can ask about human trafficking in the chat on this page. Open "
        "the chat with the button in the bottom right corner. The answers come from official material, and each "
        "answer shows its source.",
        "danger": "If you are in danger now, call the emergency number 112.",
        "footer": "Demo page – not a real authority's page. The Majakka chat does not save questions.",
    },
}
EMBED_TITLE = {"fi": "Majakka – kysy ihmiskaupasta", "sv": "Majakka – fråga om människohandel",
               "en": "Majakka – ask about human trafficking"}
NOSCRIPT = {"fi": "Majakka-keskustelu tarvitsee JavaScriptin.", "sv": "Majakka-chatten behöver JavaScript.",
            "en": "The Majakka chat needs JavaScript."}


def _page(request: Request, body: str, status_code: int = 200) -> HTMLResponse:
    csp = page_csp(list(request.app.state.settings.api.frame_ancestors))
    return HTMLResponse(body, status_code=status_code, headers={**PAGE_HEADERS, "Content-Security-Policy": csp})


def demo_page(lang: Language, audience: str) -> str:
    """Render the fictional ministry page with the widget embedded."""
    text = {k: escape(v) for k, v in DEMO_TEXT[lang].items()}
    current = ' aria-current="page"'
    switch = "".join(
        f'<li><a href="/?lang={code}" lang="{code}" hreflang="{code}"{current if code == lang else ""}>'
        f"{escape(name)}</a></li>"
        for code, name in LANGUAGE_NAMES.items()
    )
    # Only the page shown is real; the other menu items stand for a ministry's menu.
    nav = "".join(
        f'<li><a href="/?lang={lang}"{current if i == 2 else ""}>{item}</a></li>'
        for i, item in enumerate(text["nav_items"].split("|"))
    )
    paragraphs = "".join(f"<p>{p}</p>" for p in text["body"].split("|"))
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{text["title"]}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/demo.css">
</head>
<body class="demo">
<header class="site">
  <a class="skip" href="#content">{text["skip"]}</a>
  <p class="banner">{text["banner"]}</p>
  <div class="wrap top">
    <p class="logo"><span class="mark" aria-hidden="true"></span>{text["ministry"]}</p>
    <nav aria-label="{text["languages"]}"><ul class="langs">{switch}</ul></nav>
  </div>
  <nav class="menu" aria-label="{text["nav"]}"><div class="wrap"><ul>{nav}</ul></div></nav>
</header>
<main id="content" class="wrap">
  <h1>{text["heading"]}</h1>
  <p class="lead">{text["lead"]}</p>
  {paragraphs}
  <p class="danger">{text["danger"]}</p>
</main>
<footer class="site"><p class="wrap">{text["footer"]}</p></footer>
<script src="/widget.js" data-lang="{lang}" data-audience="{audience}" async></script>
</body>
</html>
"""


def embed_page(lang: Language, audience: str) -> str:
    """Render the chat alone, filling the page (for an iframe)."""
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(EMBED_TITLE[lang])}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/demo.css">
</head>
<body class="embed">
<noscript><p>{escape(NOSCRIPT[lang])}</p></noscript>
<script src="/widget.js" data-lang="{lang}" data-audience="{audience}" data-mode="page" async></script>
</body>
</html>
"""


def _language(value: str | None) -> Language:
    """fi, sv or en; anything else shows the Finnish page."""
    return "sv" if value == "sv" else "en" if value == "en" else "fi"


@router.get("/", response_class=HTMLResponse)
def demo(
    request: Request, lang: Annotated[str | None, Query()] = None, audience: Annotated[str | None, Query()] = None
) -> HTMLResponse:
    """Serve a demo page that looks like a (fictional) ministry's page, with the widget embedded."""
    return _page(request, demo_page(_language(lang), "staff" if audience == "staff" else "public"))


@router.get("/embed", response_class=HTMLResponse)
def embed(
    request: Request, lang: Annotated[str | None, Query()] = None, audience: Annotated[str | None, Query()] = None
) -> HTMLResponse:
    """Serve the chat as a full page, for an iframe."""
    return _page(request, embed_page(_language(lang), "staff" if audience == "staff" else "public"))


def _static(name: str) -> FileResponse:
    return FileResponse(
        STATIC_DIR / name,
        media_type=STATIC_FILES[name],
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=300"},
    )


@router.get("/widget.js")
def widget_js() -> FileResponse:
    """Serve the embeddable widget."""
    return _static("widget.js")


@router.get("/widget.css")
def widget_css() -> FileResponse:
    """Serve the widget's stylesheet, linked inside its shadow root."""
    return _static("widget.css")


@router.get("/demo.css")
def demo_css() -> FileResponse:
    """Serve the demo and embed pages' stylesheet."""
    return _static("demo.css")


@router.get("/document.css")
def document_css() -> FileResponse:
    """Serve the document pages' stylesheet."""
    return _static("document.css")
