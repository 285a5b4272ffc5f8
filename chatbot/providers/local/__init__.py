"""The local assistant: answers from the shop's own catalogue, orders and policy pages, with no network.

It understands the question before it searches (:mod:`.question`: intent, price limits, sizes, "this
one", "cheaper"), finds products in an in-memory index of the catalogue (:mod:`.catalogue`), answers from
the sentence that holds a fact (:mod:`.facts`, :mod:`.policies`), and streams a short markdown answer
in small chunks the way a language model would. Its own words come from the gettext catalogues.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncGenerator, Iterator
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from chatbot.aio import in_thread
from chatbot.exceptions import ShopError
from chatbot.language import is_chinese, reply_language
from chatbot.providers.base import ChatRequest, Delta, Done, Products, Provider, ProviderEvent, Suggestions
from chatbot.providers.local import orders, policies
from chatbot.providers.local.catalogue import catalogue_for
from chatbot.providers.local.product_question import ProductQuestion, starters
from chatbot.providers.local.products import Answer
from chatbot.providers.local.question import GREETING, THANKS, is_order_question, policy_topic
from chatbot.providers.local.words import Lexicon, load_lexicon, spaced
from chatbot.shop.base import Policy

logger = logging.getLogger(__name__)
_CHUNK = re.compile(r"\S+\s*|\s+")


class LocalProvider(Provider):
    """The embedded default provider; reads the shop through its adapter only."""

    name = "local"

    @classmethod
    def is_configured(cls, conf: Any) -> bool:
        return True  # it needs no settings

    def stream(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        answer, lang, cards = self.prepare(request)
        yield from self.found(request, answer, cards)
        delay = float(self.options.LOCAL_STREAM_DELAY)
        for index, piece in enumerate(_chunks(answer.text, lang)):
            if delay and index:
                time.sleep(delay)
            yield Delta(piece)
        yield Done()

    async def astream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        # The search (the database) in a worker thread; the typing on the loop, holding no thread.
        answer, lang, cards = await in_thread(lambda: self.prepare(request))
        for event in self.found(request, answer, cards):
            yield event
        delay = float(self.options.LOCAL_STREAM_DELAY)
        for index, piece in enumerate(_chunks(answer.text, lang)):
            if delay and index:
                await asyncio.sleep(delay)
            yield Delta(piece)
        yield Done()

    def prepare(self, request: ChatRequest) -> tuple[Answer, str, list[dict[str, Any]]]:
        """The answer, its language and its product cards (the database work of a reply)."""
        lang = reply_language(request.language)
        with translation.override(lang):
            answer = self.answer(request, lang)
            cards = [request.shop.card(product) for product in answer.products]
        return answer, lang, cards

    @staticmethod
    def found(request: ChatRequest, answer: Answer, cards: list[dict[str, Any]]) -> Iterator[ProviderEvent]:
        if answer.subject is not None:
            request.state["subject"] = answer.subject
        if cards:
            yield Products(cards)
        if answer.suggestions:
            yield Suggestions(answer.suggestions)

    def answer(self, request: ChatRequest, lang: str) -> Answer:
        text = spaced(request.text.strip())
        try:
            if GREETING.match(text):
                shop_name = request.shop.shop_name() or self.options.SHOP_NAME or _("our shop")
                return Answer(
                    _(
                        "Hello! I'm the %(shop)s assistant. I can help with products, prices, stock, shipping, "
                        "returns and your orders."
                    )
                    % {"shop": shop_name},
                    suggestions=starters(),
                )
            if THANKS.match(text):
                return Answer(_("You're welcome! Is there anything else I can help with?"))
            lexicon = load_lexicon(self.options.LOCAL_LEXICON)
            topic = policy_topic(text)
            if is_order_question(text) and not orders.general(request, text, topic):
                return Answer(orders.answer(request, text, self._cancel_policy(request, lexicon, lang)))
            if topic is not None:
                return self._policy(request, text, topic, lexicon, lang)
            if request.shop.name == "none":
                return Answer(
                    _(
                        "I can't look up products in this shop. A member of our team can help: just ask "
                        "to talk to a human."
                    )
                )
            # A shop that can only search is asked in its own words and in the lexicon's ("帐篷": tent).
            query = " ".join([text, *(t.concept for t in lexicon.terms(text) if t.kind != "word")])
            return ProductQuestion(request, text, catalogue_for(request.shop, lexicon, query), lang).answer()
        except ShopError:
            raise
        except Exception as exc:
            logger.exception("The local assistant could not answer")
            raise ShopError(f"{type(exc).__name__} in the shop adapter") from exc

    def _policy(self, request: ChatRequest, text: str, topic: str, lexicon: Lexicon, lang: str) -> Answer:
        pages = request.shop.policies()
        ordered = sorted(pages, key=lambda p: p.topic != topic)
        for page in ordered:
            found = policies.answer(text, page, lexicon, chinese=is_chinese(lang))
            if found:
                more = policies.more_link(page)
                return Answer(found + (f"\n\n{more}" if more else ""))
            if page.topic == topic:
                break
        topic_page = next((p for p in pages if p.topic == topic), None)
        if topic_page is None:
            return Answer(
                _("I don't have that policy to hand. A member of our team can tell you: just ask to talk to a human.")
            )
        return Answer(
            _("I couldn't find that on our %(title)s page.") % {"title": topic_page.title}
            + "\n\n"
            + policies.more_link(topic_page)
        )

    def _cancel_policy(self, request: ChatRequest, lexicon: Lexicon, lang: str) -> str:
        page: Policy | None = next((p for p in request.shop.policies() if p.topic == "returns"), None)
        if page is None:
            return ""
        # What the returns page is searched for, in the page's language.
        question = pgettext("policy search", "cancel an order until it has been dispatched")
        return policies.answer(question, page, lexicon, chinese=is_chinese(lang)) or ""


def _chunks(answer: str, lang: str) -> Iterator[str]:
    """Word-sized pieces; a few characters at a time for Chinese, which has no spaces."""
    for token in _CHUNK.findall(answer):
        if is_chinese(lang) and len(token) > 4:
            for start in range(0, len(token), 3):
                yield token[start : start + 3]
        else:
            yield token
