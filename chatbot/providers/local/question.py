"""What a shopper asks, understood before anything is searched: the intent, the constraints (price,
size, people, order of preference), what "this" refers to, and the product words that are left."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from chatbot.providers.local import facts
from chatbot.providers.local.words import Term

rx = re.compile

GREETING = rx(r"^\s*(hi|hello|hey|hiya|good (morning|afternoon|evening)|你好|您好|嗨|哈喽)\W*$", re.I)
THANKS = rx(r"^\s*(thanks|thank you|thx|cheers|ta|谢谢|多谢|感谢)\b.*$", re.I)
ORDER = rx(
    r"\border(s)?\b|\btrack(ing)?\b|\bparcel\b|\bpackage\b|\bwhere is my\b|\bmy purchase|"
    r"订单|物流|快递单|单号|到哪|包裹",
    re.I,
)
CANCEL = rx(r"\bcancel(l?ed|l?ing|lation)?\b|取消", re.I)
ORDER_NUMBER = rx(r"(?<![\w.@£$€¥])#?(\d{5,12})(?![\w@])")
EMAIL = rx(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
POLICY_TOPICS = [
    (
        "privacy",
        rx(
            r"\bprivacy\b|\bpersonal (data|information|details)\b|\bgdpr\b|\bcookies?\b|\bmy data\b|"
            r"\b(chats?|conversations?|messages?)\b.*\b(kept|stored|saved|deleted|retain\w*|keep)\b|"
            r"\b(keep|store|retain|delete)\b.*\b(chats?|conversations?|data)\b|隐私|个人信息|个人数据|聊天记录",
            re.I,
        ),
    ),
    (
        "returns",
        rx(
            r"\breturn(s|ed|ing|able)?\b|\brefund(s|ed|able)?\b|\bexchange\b|\bsend (it |them )?back\b|\bmoney back\b|"
            r"\bfaulty\b|\bbroken\b|\bdamaged\b|\bwarranty\b|\bguarantee\b|退货|退款|换货|退换|退回|保修|坏了|质量问题|可以退|能退|能不能退|可退|退吗|退不退|怎么退",
            re.I,
        ),
    ),
    (
        "shipping",
        rx(
            r"\bship(ping|s|ped)?\b|\bdeliver(y|ies|ed)?\b|\btracking number\b|\bpostage\b|\bcourier\b|"
            r"\bdispatch(ed)?\b|\bpost\b|"
            r"\barrive\b|\bnext day\b|\bexpress\b|\binternational\b|\babroad\b|\boverseas\b|\bduties\b|\bcustoms\b|"
            r"配送|运费|发货|邮费|寄|快递|送到|包邮|国际|海外|关税|多久到",
            re.I,
        ),
    ),
    (
        "payment",
        rx(
            r"\bpay(ment|ing|pal)?\b|\bcredit card\b|\bdebit card\b|\bcards?\b|\bklarna\b|\bapple pay\b|"
            r"\bgoogle pay\b|\bvisa\b|\bmastercard\b|\bamex\b|\bamerican express\b|\bvat\b|\bcurrenc(y|ies)\b|"
            r"\bgift cards?\b|支付|付款|信用卡|银行卡|支付宝|微信支付|礼品卡|发票|增值税",
            re.I,
        ),
    ),
]

CHEAPEST = rx(r"\bcheapest\b|\blowest[- ]price|\bleast expensive|最便宜|最实惠|价格最低|最低价", re.I)
CHEAPER = rx(
    r"\bcheaper\b|\bless expensive\b|\blower[- ]price|\bmore affordable\b|便宜点|便宜一点|更便宜|便宜些|便宜一些|"
    r"便宜的|实惠点|实惠一点|更实惠",
    re.I,
)
CHEAP = rx(r"\bcheap\b|\binexpensive\b|\baffordable\b|\bbudget\b|\bbargain\b|便宜|实惠|平价", re.I)
DEAREST = rx(r"\bmost expensive\b|\bpriciest\b|\btop of the range\b|\bbest quality\b|最贵|最高档", re.I)
DEARER = rx(r"\bmore expensive\b|\bpricier\b|\bhigher[- ]end\b|\bbetter quality\b|\bpremium\b|更贵|贵一点|更高档", re.I)
SUPERLATIVES = [
    ("warmest", rx(r"\bwarmest\b|\bmost insulated\b|\bwarmer\b|最暖|最保暖|更暖|更保暖", re.I)),
    ("lightest", rx(r"\blightest\b|\blighter\b|\bweighs? (the )?least\b|最轻|更轻", re.I)),
    ("heaviest", rx(r"\bheaviest\b|\bheavier\b|最重", re.I)),
    ("largest", rx(r"\bbiggest\b|\blargest\b|\bbigger\b|\blarger\b|\bmost (space|room|capacity)\b|最大|更大", re.I)),
    ("longest", rx(r"\blongest\b|\blasts? (the )?longest\b|续航最长|最持久", re.I)),
]
_AMOUNT = (
    r"(?:£|\$|€|¥|gbp\s*|rmb\s*)?\s*(\d+(?:\.\d{1,2})?)\s*(?:pounds?|quid|gbp|bucks|dollars?|euros?|镑|英镑|元|块)?"
)
UNDER = [
    rx(
        r"\b(?:under|below|less than|cheaper than|up to|max(?:imum)?|at most|no more than|within|not over|"
        r"budget (?:is|of)|for less than)\s*" + _AMOUNT,
        re.I,
    ),
    rx(_AMOUNT + r"\s*(?:or less|or under|max|and under|以下|以内|之内|内)", re.I),
    rx(r"(?:不超过|低于|少于|不到|小于|预算)\s*" + _AMOUNT, re.I),
]
OVER = [
    rx(r"\b(?:over|above|more than|at least|pricier than|upwards of)\s*" + _AMOUNT, re.I),
    rx(_AMOUNT + r"\s*(?:or more|and up|and over|以上)", re.I),
    rx(r"(?:超过|高于|大于|多于)\s*" + _AMOUNT, re.I),
]
BETWEEN = rx(
    r"(?:between\s*)?(?:£|\$|€)\s*(\d+)\s*(?:-|–|to|and)\s*(?:£|\$|€)?\s*(\d+)|between\s*(\d+)\s*and\s*(\d+)"
    r"|(\d+)\s*(?:到|至|-)\s*(\d+)\s*(?:镑|英镑|元|块)",
    re.I,
)
SIZE = rx(
    r"\bsize\s*(?:uk\s*)?(\d+(?:\.5)?)\b|\bsize\s+(xxs|xs|s|m|l|xl|xxl|xxxl)\b|\buk\s*(\d+(?:\.5)?)\b|"
    r"(?<![\d.a-z])(\d+(?:\.5)?|xs|s|m|l|xl|xxl)\s*码|(?<![a-z])(xxs|xs|xl|xxl|xxxl)(?![a-z])",
    re.I,
)
SIZE_QUESTION = rx(r"\bsizes?\b|\bsizing\b|\bfit\b|尺码|码数|多大码|尺寸|几码|什么码|哪些码", re.I)
COLOUR_QUESTION = rx(r"\bcolou?rs?\b|颜色|什么色", re.I)
WEIGHT_QUESTION = rx(r"\bhow heavy\b|\bweigh(s|t)?\b|多重|重量|多少克", re.I)
MATERIAL_QUESTION = rx(r"\bmade (of|from)\b|\bmaterials?\b|\bfabric\b|材质|材料|面料|什么做的", re.I)
STOCK_QUESTION = rx(
    r"\bin stock\b|\bstock\b|\bavailable\b|\bleft\b|\bsold out\b|\bback in\b|有货|库存|现货|还有吗|卖完", re.I
)
PRICE_QUESTION = rx(r"\bhow much\b|\bprice\b|\bcost\b|多少钱|价格|价钱|几钱", re.I)
COMPARE = rx(
    r"\bdifference|\bdiffer\b|\bcompare|\bcomparison\b|\bversus\b|\bvs\.?\b|\bbetter\b|\bor\b|\bwhich one\b|"
    r"区别|不同|差别|比较|对比|哪个好|哪个更|还是",
    re.I,
)
COMPARE_SPLIT = rx(r"\s+(?:and|vs\.?|versus|or|with|compared (?:to|with)|against)\s+|和|与|跟|还是|对比|比较", re.I)
REFERS = rx(r"\b(this|these|that|those|it|its|it's|they|them|this one|that one)\b|这|那|它|该", re.I)
MORE = rx(r"\b(any )?(other|others|another|more|else|alternatives?|similar)\b|别的|其他|其它|还有别|类似", re.I)
EXISTENCE = rx(
    r"^\s*(do|does) (you|the shop|your shop)\b|^\s*(have|has) you got\b|^\s*(are|is) there\b|^\s*(got|any)\b|"
    r"\bdo you (sell|stock|carry|have)\b|\bi('m| am) looking for\b|\bi (need|want)\b|\brecommend|\bsuggest|"
    r"有没有|有卖|卖不卖|推荐|想买|我要|我想要|找|^\s*(请问)?(你们|贵店)?(还)?有.{1,12}吗",
    re.I,
)
YES_NO = rx(
    r"^\s*(is|are|does|do|can|could|will|would|has|have|should)\b|吗[？?]?\s*$|是否|能不能|可不可以|会不会|有没有.*[盖]",
    re.I,
)
FACT = rx(
    r"^\s*(how|what|what's|whats|which|tell me|does|do|is|are|can)\b|多少|多大|多重|多长|多久|几|什么|吗[？?]?\s*$",
    re.I,
)
GIFT = rx(r"\bgifts?\b|\bpresents?\b|\bstocking fillers?\b|礼物|送礼|礼品", re.I)


@dataclass
class Question:
    text: str
    language: str
    terms: list[Term] = field(default_factory=list)
    max_price: Decimal | None = None
    min_price: Decimal | None = None
    #: "cheaper" or "dearer" than what was shown before.
    relative: str = ""
    #: price_asc | price_desc | warmest | lightest | heaviest | largest | longest
    order: str = ""
    size: str = ""
    people: int | None = None
    refers: bool = False
    more: bool = False
    compare: bool = False
    existence: bool = False
    yes_no: bool = False
    gift: bool = False
    asks_size: bool = False
    asks_weight: bool = False
    asks_colour: bool = False
    asks_material: bool = False
    asks_stock: bool = False
    asks_price: bool = False
    #: A question about something (how big, what is it made of), not a request for a list.
    asks_fact: bool = False

    @property
    def asks_about_product(self) -> bool:
        """A question about a product's size, weight or material, not only its price or stock."""
        return self.asks_size or self.asks_weight or self.asks_material or self.asks_colour

    @property
    def has_budget(self) -> bool:
        return self.max_price is not None or self.min_price is not None

    @property
    def has_constraints(self) -> bool:
        return bool(self.has_budget or self.relative or self.order or self.more)


def policy_topic(text: str) -> str | None:
    return next((name for name, pattern in POLICY_TOPICS if pattern.search(text)), None)


def is_order_question(text: str) -> bool:
    if ORDER_NUMBER.search(text) and (EMAIL.search(text) or ORDER.search(text)):
        return True
    if ORDER.search(text):
        # "what order should I brew..." is rare; "in order to" is not a question about an order.
        return not re.search(r"\bin order to\b", text, re.I)
    return bool(CANCEL.search(text) and re.search(r"\bmy\b|我的|\bi\b", text, re.I))


def _price(patterns: list[re.Pattern[str]], text: str) -> Decimal | None:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return Decimal(next(g for g in match.groups() if g))
    return None


def parse(text: str, language: str, terms: list[Term], ignore: frozenset[str] = frozenset()) -> Question:
    question = Question(text=text, language=language)
    between = BETWEEN.search(text)
    if between:
        low, high = [g for g in between.groups() if g][:2]
        question.min_price, question.max_price = sorted((Decimal(low), Decimal(high)))
    else:
        question.max_price = _price(UNDER, text)
        question.min_price = _price(OVER, text)
    if CHEAPEST.search(text):
        question.order = "price_asc"
    elif DEAREST.search(text):
        question.order = "price_desc"
    elif CHEAPER.search(text):
        question.relative = "cheaper"
    elif DEARER.search(text):
        question.relative = "dearer"
    elif CHEAP.search(text):
        question.order = "price_asc"
    for name, pattern in SUPERLATIVES:
        if not question.order and pattern.search(text):
            question.order = name
    size = SIZE.search(text)
    if size:
        question.size = next(g for g in size.groups() if g).upper()
    question.people = facts.people(text)
    question.refers = bool(REFERS.search(text))
    question.more = bool(MORE.search(text))
    question.compare = bool(COMPARE.search(text))
    question.existence = bool(EXISTENCE.search(text))
    question.yes_no = bool(YES_NO.search(text))
    question.gift = bool(GIFT.search(text))
    question.asks_size = bool(question.size or SIZE_QUESTION.search(text))
    question.asks_weight = bool(WEIGHT_QUESTION.search(text))
    question.asks_colour = bool(COLOUR_QUESTION.search(text))
    question.asks_material = bool(MATERIAL_QUESTION.search(text))
    question.asks_stock = bool(STOCK_QUESTION.search(text))
    question.asks_price = bool(PRICE_QUESTION.search(text))
    question.asks_fact = bool(FACT.search(text))
    numbers = {m.group(1) for m in re.finditer(r"(\d+(?:\.\d+)?)", text)}
    sizes = {question.size.lower()} if question.size else set()
    question.terms = [t for t in terms if _meaningful(t, numbers | sizes, ignore)]
    return question


def _meaningful(term: Term, numbers: set[str], ignore: frozenset[str]) -> bool:
    if term.concept == "gift":
        return False
    if term.kind != "word":
        return True
    return not (term.concept in ignore or term.concept in numbers or len(term.concept) < 2)
