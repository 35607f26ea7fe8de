"""Small hand-written news sources for the format tests: a saved page full of boilerplate,
an RSS and an Atom feed, and a WARC.gz crawl written with warcio. No downloaded pages."""

from __future__ import annotations

import io
from pathlib import Path

# Words that only the boilerplate around the fixtures' stories contains.
BOILERPLATE = (
    "Subscribe",
    "newsletter",
    "Advertisement",
    "All rights reserved",
    "Related stories",
    "Privacy policy",
    "Great news, finally",
    "Sport",
    "Cookie",
)

PAGE_HTML = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Harbour tunnel opens after six years | The Coastal Times</title>
<link rel="canonical" href="https://coastal.example/2024/05/harbour-tunnel-opens">
<meta property="og:title" content="Harbour tunnel opens after six years">
<meta property="article:published_time" content="2024-05-14T08:30:00Z">
<meta name="author" content="Mira Okafor">
<script>var tracking = "<b>pixel</b>"; document.write("Subscribe now");</script>
<style>.ad { color: red }</style>
</head><body>
<div class="cookie-banner">Cookie settings: we use cookies to improve your experience.</div>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/sport">Sport</a></li><li><a href="/business">Business</a></li></ul></nav>
<div class="subscribe">Subscribe to our newsletter for daily updates</div></header>
<main><article>
<h1>Harbour tunnel opens after six years</h1>
<p>The harbour tunnel linking the old port to the eastern suburbs opened to traffic on
Tuesday morning, six years after construction began and two years behind schedule.</p>
<div class="ad">Advertisement: buy one get one free at Seaside Motors</div>
<p>The city engineer said the tunnel cost 1.2 billion euros, forty percent more than the
first estimate, because the contractor hit unexpected granite under the seabed.</p>
<h2>Traffic relief</h2>
<p>Commuters from the eastern suburbs are expected to save twenty minutes each way, and the
old swing bridge will close to cars next month for repairs &amp; repainting.</p>
</article>
<aside class="related"><h3>Related stories</h3><ul>
<li><a href="/a">Bridge repairs delayed again</a></li><li><a href="/b">Ferry fares rise</a></li>
</ul></aside>
<section class="comments"><h3>Comments</h3><p>Great news, finally! - Bob</p></section>
</main>
<footer><p>© 2024 The Coastal Times. All rights reserved. Privacy policy. Contact us.</p>
<p>Subscribe | Advertise with us | Sport | Weather</p></footer>
</body></html>
"""

RSS_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Valley Gazette</title><link>https://valley.example/</link>
<description>News from the valley</description>
<item><title>Council approves new riverside library</title>
<link>https://valley.example/library</link><guid>https://valley.example/library</guid>
<pubDate>Tue, 02 Jul 2024 09:00:00 GMT</pubDate>
<description>A short teaser about the library.</description>
<content:encoded><![CDATA[<p>The town council voted seven to two on Monday to build a new
public library beside the river park, replacing the cramped reading room above the post
office.</p><p>Construction of the riverside library starts in March, and the building should
open to readers in the autumn of next year.</p><script>alert("x")</script>]]></content:encoded>
</item>
<item><title>Heavy rain expected across the valley</title>
<link>https://valley.example/rain</link><guid>https://valley.example/rain</guid>
<pubDate>Wed, 03 Jul 2024 06:15:00 GMT</pubDate>
<description>Forecasters warned of heavy rain and strong wind along the valley on Thursday,
with flooding possible near the old mill.</description></item>
</channel></rss>
"""

ATOM_FEED = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>Orchard Weekly</title><id>urn:orchard-weekly</id><updated>2023-10-06T00:00:00Z</updated>
<entry><title>Apple growers report a record harvest</title>
<id>urn:orchard-weekly:harvest-2023</id><author><name>Lena Brook</name></author>
<link href="https://orchard.example/harvest"/>
<published>2023-10-05T07:00:00Z</published><updated>2023-10-06T07:00:00Z</updated>
<content type="html">&lt;p&gt;Apple growers in the northern hills picked a record
forty thousand tonnes this autumn, helped by a warm spring without late frost.&lt;/p&gt;
&lt;p&gt;Cider makers said prices for windfall apples fell by a third.&lt;/p&gt;
</content>
</entry>
</feed>
"""

CRAWLED_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>Museum returns bronze statues to their home city - Daily Ledger</title>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
"headline": "Museum returns bronze statues to their home city",
"datePublished": "2022-03-09T10:00:00+00:00"}</script>
</head><body>
<nav><a href="/">Home</a> <a href="/culture">Culture</a> <a href="/sport">Sport</a></nav>
<div id="newsletter">Subscribe to the Daily Ledger newsletter</div>
<article><h1>Museum returns bronze statues to their home city</h1>
<p>The national museum handed back twelve bronze statues to the city where they were cast,
ending a dispute over their ownership that had lasted more than forty years.</p>
<p>The mayor said the bronze statues will stand in a new gallery at the town hall, which
opens to visitors free of charge from the first of June.</p>
</article>
<footer>All rights reserved. Privacy policy.</footer>
</body></html>
"""
CRAWLED_URL = "https://ledger.example/culture/bronze-statues"


def write_warc(path: Path, pages: list[tuple[str, str]], *, gzip: bool = True) -> Path:
    """A crawl as a crawler writes it: warcinfo, then for each page a request and an HTML
    response, plus an image response and a 404, which are not articles."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=gzip)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "tests"}))
        for url, page in pages:
            request = f"GET {url} HTTP/1.1\r\nHost: example\r\n\r\n".encode()
            writer.write_record(
                writer.create_warc_record(url, "request", payload=io.BytesIO(request))
            )
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            writer.write_record(
                writer.create_warc_record(
                    url, "response", payload=io.BytesIO(page.encode()), http_headers=headers
                )
            )
        image = StatusAndHeaders("200 OK", [("Content-Type", "image/png")], protocol="HTTP/1.1")
        writer.write_record(
            writer.create_warc_record(
                "https://ledger.example/logo.png",
                "response",
                payload=io.BytesIO(b"\x89PNG\r\n\x1a\n"),
                http_headers=image,
            )
        )
        missing = StatusAndHeaders(
            "404 Not Found", [("Content-Type", "text/html")], protocol="HTTP/1.1"
        )
        writer.write_record(
            writer.create_warc_record(
                "https://ledger.example/gone",
                "response",
                payload=io.BytesIO(b"<html><body>Not found</body></html>"),
                http_headers=missing,
            )
        )
    return path


def news_folder(folder: Path) -> Path:
    """One of each new kind: a saved page, an RSS feed, an Atom feed and a WARC.gz."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tunnel.html").write_text(PAGE_HTML, encoding="utf-8")
    (folder / "valley.rss").write_text(RSS_FEED, encoding="utf-8")
    (folder / "orchard.atom").write_text(ATOM_FEED, encoding="utf-8")
    write_warc(folder / "crawl.warc.gz", [(CRAWLED_URL, CRAWLED_PAGE)])
    return folder
