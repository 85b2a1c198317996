"""Fixed texts of answers, written by people: the abstention and the notice under every answer, per language."""

from __future__ import annotations

ABSTAIN_TEXT = {
    "fi": (
        "Aineistossa ei ole vastausta tähän kysymykseen. Majakka kertoo ihmiskaupan vastaisesta työstä Suomessa: "
        "valtioneuvoston toimintaohjelmasta 2016–2017, uhrien auttamisesta, oleskeluluvista ja harkinta-ajasta "
        "sekä ihmiskaupan rangaistavuudesta."
    ),
    "sv": (
        "Materialet svarar inte på den här frågan. Majakka handlar om arbetet mot människohandel i Finland: "
        "statsrådets handlingsplan 2016–2017, hjälp till offer, uppehållstillstånd och betänketid samt "
        "straffbestämmelserna om människohandel."
    ),
    "en": (
        "The material does not answer this question. Majakka covers Finland's work against trafficking in human "
        "beings: the Government's Action Plan 2016–2017, help for victims, residence permits and the reflection "
        "period, and the crime of trafficking and its penalties."
    ),
}
NOTICE = {
    "fi": "Tämä on automaattinen vastaus virallisesta aineistosta. Se ei ole oikeudellista neuvontaa.",
    "sv": "Detta är ett automatiskt svar ur officiellt material. Det är inte juridisk rådgivning.",
    "en": "This is an automated answer from official material. It is not legal advice.",
}
