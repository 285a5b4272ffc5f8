"""Realistic shopper questions about the demo shop, in English and Chinese, with what a good answer
must and must not say. Asked through the chat API by ``tests/test_local_assistant.py`` and timed on the
10,000-product catalogue by ``bench/local_answers.py``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Case:
    ask: str
    #: Substrings the answer must contain (any one of a tuple).
    must: list = field(default_factory=list)
    #: Substrings it must not contain.
    never: list = field(default_factory=list)
    #: Product titles the cards must be exactly (when given).
    cards: list | None = None
    page: str = ""
    #: Questions asked first in the same conversation.
    before: list = field(default_factory=list)
    user: str = ""

    @property
    def chinese(self) -> bool:
        return bool(CJK.search(self.ask))


def verdict(case: Case, text: str, cards: list[str]) -> list[str]:
    problems = []
    for expected in case.must:
        options = expected if isinstance(expected, tuple) else (expected,)
        if not any(option in text for option in options):
            problems.append(f"missing {expected!r}")
    for unwanted in case.never:
        if unwanted in text or any(unwanted in title for title in cards):
            problems.append(f"has {unwanted!r}")
    if case.cards is not None and cards != case.cards:
        problems.append(f"cards {cards}")
    if case.chinese and len(CJK.findall(text)) < 4:
        problems.append("not answered in Chinese")
    if len(text) > 900:
        problems.append(f"too long ({len(text)} characters)")
    return problems


CASES = [
    # Constraints
    Case("boots under £100", ["no boots under £100", "Leather Chelsea Boots", "£120.00"], ["Tent"]),
    Case("do you have any boots under 150 pounds?", ["Hiking Boots", "Leather Chelsea Boots"], ["Tent", "Trousers"]),
    Case("gift ideas under 30 pounds", ["£"], ["30L Daypack", "Hiking Boots"]),
    Case("anything under £10?", ["Earl Grey", "English Breakfast"], ["Hiking Boots"]),
    Case("cheapest tea", ["English Breakfast Tea Bags", "£6.50"], ["Teapot", "Tea Towels"]),
    Case("what's the most expensive jacket?", ["most expensive is the **[羽绒服 Down Jacket", "£169.00"], []),
    Case("有没有便宜点的茶？", ["English Breakfast Tea Bags", "£6.50"], ["Tea Towels"]),
    Case(
        "any cheaper ones?",
        ["Leather Chelsea Boots", "£120.00"],
        ["Phone Case", "Trousers"],
        before=["do you have hiking boots?"],
    ),
    Case("cheaper boots", ["Leather Chelsea Boots"], ["Phone Case", "Canvas Sneakers"]),
    Case("kitchen knives between £50 and £100", ["Chef's Knife"], ["Cutting Board"]),
    Case("100镑以下的跑鞋", ["跑鞋 Road Running Shoes", "£95.00"], ["Trail Running Shoes", "Hiking Boots"]),
    Case("show me cheap teapots", ["Ceramic Teapot", "紫砂茶壶"], ["Tea Towels", "Earl Grey"]),
    # Honesty
    Case("do you have a tent for four people?", ["Two-Person Backpacking Tent", ("two", "2")], ["four-person tent"]),
    Case("I need a 3 person tent", ["Two-Person Backpacking Tent"], []),
    Case("have you got any red wine?", [("don't sell", "don't have")], ["Headtorch", "Doormat"], cards=[]),
    Case("do you sell bicycles?", [("don't sell", "don't have", "couldn't find")], ["Trekking"], cards=[]),
    Case("有卖葡萄酒吗？", ["抱歉"], ["Headtorch"], cards=[]),
    Case("do you sell surfboards?", ["couldn't find"], [], cards=[]),
    # Facts inside descriptions
    Case("which sleeping bag is the warmest?", ["Four-Season Sleeping Bag", "-10 °C"], ["Tea Bags"]),
    Case("can I take the power bank on a plane?", ["cabin baggage"], ["Speaker"]),
    Case("does the bamboo steamer have a lid?", [("附带盖子", "lid")], ["Casserole"]),
    Case("do the hiking boots come in size 9?", ["Yes", "4-12"], ["Trail Running"]),
    Case("do the chelsea boots come in size 12?", ["No", "6-11"], []),
    Case("is the trail running shoe waterproof?", ["No", "Not waterproof"], []),
    Case("is the hiking boot waterproof?", ["Yes", "Waterproof leather"], []),
    Case("what sizes does the waterproof jacket come in?", ["XS-XXL"], []),
    Case("how heavy is the tent?", ["1.6 kg"], []),
    Case("is the cast iron skillet ok on induction?", ["induction"], []),
    Case("is the solar charger waterproof?", ["Partly", "Water-resistant"], []),
    Case("which is the lightest tent?", ["Two-Person Backpacking Tent"], []),
    Case("羽绒服有什么尺码？", ["XS至XXL"], []),
    Case("跑鞋多重？", ["240克"], []),
    # Comparisons
    Case(
        "difference between the waterproof jacket and the fleece jacket?",
        ["Waterproof Jacket", "Fleece Jacket", "£149.00", "£65.00", "out of stock"],
        ["Down Jacket", "Trousers"],
    ),
    Case(
        "compare the hiking boots and the trail running shoes",
        ["Hiking Boots", "Trail Running Shoes", "lighter"],
        ["Chelsea"],
    ),
    Case("ceramic teapot vs 紫砂茶壶", ["Ceramic Teapot", "紫砂茶壶"], []),
    # Precision
    Case("sleeping bags", ["Four-Season Sleeping Bag"], ["Tea Bags"], cards=["Four-Season Sleeping Bag"]),
    Case("do you have hiking boots?", ["Hiking Boots"], ["Trousers", "Phone Case"]),
    Case("water bottle", ["Stainless Steel Water Bottle"], ["Trousers"], cards=["Stainless Steel Water Bottle"]),
    Case("do you have hikng boots?", ["Hiking Boots"], ["Trousers"]),
    Case("I'm looking for a rain jacket", ["Waterproof Jacket"], ["Trousers"]),
    Case("headlamp", ["Headtorch 400 Lumen"], []),
    Case("phone charger", [("Wireless Charging Pad", "Power Bank", "USB-C")], ["Phone Case"]),
    # Both languages
    Case("teapot", ["Ceramic Teapot", "紫砂茶壶"], ["Tea Towels"]),
    Case("防水外套", ["Waterproof Jacket"], ["Hiking Boots"]),
    Case("有没有睡袋？", ["Four-Season Sleeping Bag"], ["Tea Bags"]),
    Case("请问有龙井茶吗？", ["龙井绿茶 Longjing Green Tea", "£18.50"], []),
    Case("有没有蓝牙音箱", ["Bluetooth Speaker"], []),
    Case("有羊毛袜吗", ["Wool Hiking Socks"], []),
    # Policies: the paragraph, not the page
    Case("how much is delivery to the USA?", ["£19.95", "/shipping/"], ["£3.95", "Royal Mail"]),
    Case("how much does shipping to France cost?", ["£12.95"], ["Royal Mail"]),
    Case("is delivery free?", ["£50"], []),
    Case("can I return shoes I've worn outside?", ["worn indoors only"], ["PayPal"]),
    Case("how long do refunds take?", ["5 working days"], ["Royal Mail"]),
    Case("can I return opened tea?", ["opened food and tea cannot be returned"], []),
    Case("do you accept PayPal?", ["Yes", "PayPal"], ["Royal Mail"]),
    Case("how long are chats kept?", ["90 days"], ["GDPR"]),
    Case("寄到美国运费多少？", ["£19.95"], ["Royal Mail"]),
    Case("退款要多久？", ["5个工作日"], ["Royal Mail"]),
    Case("可以用支付宝付款吗？", ["PayPal"], []),
    Case("do you ship next day?", ["£7.95"], []),
    # The page the visitor is on
    Case("is this one waterproof?", ["Yes", "Waterproof leather"], ["Bluetooth Speaker"], page="hiking-boots"),
    Case("what sizes does it come in?", ["4-12"], [], page="hiking-boots"),
    Case("这件有什么尺码？", ["XS-XXL"], [], page="waterproof-jacket"),
    Case("is it in stock?", [("only 2 left", "Only 2 left")], [], page="tie-guan-yin-oolong"),
    Case("这个防水吗？", ["防泼水"], ["Bluetooth"], page="down-jacket"),
    Case("how much is this?", ["£42.00"], [], page="cast-iron-skillet-26cm"),
    # Orders
    Case("where is my order?", ["100004", "Pending", "15501234567890"], ["100006"], user="customer"),
    Case("what's the tracking number of order 100001?", ["RM482913576GB"], ["100006"], user="customer"),
    Case("what was in order 100003?", ["Longjing", "Ceramic Teapot"], ["100006"], user="customer"),
    Case(
        "can I still cancel order 100004?", ["100004", "can still be cancelled", "talk to a human"], [], user="customer"
    ),
    Case("can I cancel order 100002?", ["100002", "can no longer be cancelled"], [], user="customer"),
    Case("tracking number for order 100002", ["15501234567890"], [], user="customer"),
    Case("where is my order 100007? my email is guest@example.com", ["100007", "Being processed"], []),
    Case("我的订单到哪了？", ["订单", "100004"], [], user="customer"),
    # Cards and text agree
    Case("how much are the hiking boots?", ["£135.00"], ["GBP 135.00"]),
    Case("is the tie guan yin in stock?", ["only 2 left"], []),
    # More of the same kinds, other words and products
    Case("trainers under 100 pounds", ["Canvas Sneakers"], ["Hiking Boots", "Trail Running Shoes"]),
    Case("any cheaper ones?", ["Fleece Jacket", "£65.00"], ["Down Jacket"], before=["do you have a down jacket?"]),
    Case("family tent for 6", ["Two-Person Backpacking Tent", "for 2"], []),
    Case("有帐篷吗？能睡四个人吗", ["Two-Person Backpacking Tent", "抱歉"], []),
    Case("I want a present for my dad under £50", ["£"], ["Hiking Boots", "couldn't find"]),
    Case("do you sell laptops?", ["don't sell laptops"], []),
    Case("does the headtorch have a red light?", ["red night mode"], []),
    Case("is the chef's knife dishwasher safe?", ["No", "Hand wash only"], []),
    Case("is the water bottle dishwasher safe?", ["Yes", "dishwasher safe"], []),
    Case("longjing or sencha?", ["龙井绿茶 Longjing Green Tea", "Japanese Sencha"], []),
    Case(
        "compare it with the fleece jacket",
        ["Waterproof Jacket", "Fleece Jacket", "£65.00"],
        [],
        page="waterproof-jacket",
    ),
    Case("how much does it weigh?", ["2.6 kg"], [], page="cast-iron-skillet-26cm"),
    Case("is it in stock?", ["out of stock", "£39.00"], [], page="compact-camping-stove"),
    Case("这个多少钱？", ["£25.00"], [], page="wireless-charging-pad"),
    Case("do I have to pay for returns?", ["free"], ["30 days of delivery"]),
    Case("可以退货吗？", ["30天内可退货"], ["取消"]),
    Case("寄到德国要多少钱？", ["£12.95"], []),
    Case("do you take apple pay?", ["Apple Pay"], []),
    Case("how do I delete my data?", ["delete"], []),
    Case("can I pay with klarna?", ["PayPal"], ["Yes"]),
    Case("最便宜的鞋", ["Canvas Sneakers", "£45.00"], ["Hiking Boots"]),
    Case("羽绒服多少钱？", ["£169.00"], []),
    Case("cancel my order", ["100004", "can still be cancelled"], [], user="customer"),
    Case("What's the cheapest thing you sell?", ["English Breakfast Tea Bags", "£6.50"], ["Tent"]),
    Case("have you got a rucksack?", ["30L Daypack"], ["Socks"]),
    Case("how long does the headtorch battery last?", ["60 hours"], []),
    Case("can I wash the wool throw in the machine?", ["No", "Dry clean or hand wash"], []),
    Case("is the lamp bulb included?", ["No", "not included"], []),
    Case("does the travel adapter convert voltage?", ["No", "Not a voltage converter"], []),
    Case("what's the difference between the teapots?", ["Ceramic Teapot", "紫砂茶壶", "£34.00", "£68.00"], []),
    Case("紫砂茶壶和陶瓷茶壶有什么区别？", ["Ceramic Teapot", "紫砂茶壶"], []),
    Case("登山靴有9码吗？", ["4-12", "有的"], []),
    Case("睡袋保暖吗？", ["-10 °C"], []),
    Case("how long will my order take to arrive?", ["working days"], ["order number"]),
    Case("do you deliver on Saturdays?", ["weekends"], []),
    Case("退货要运费吗？", ["退货免费"], []),
    Case("any cheaper?", ["Leather Chelsea Boots"], ["Hiking Boots"], page="hiking-boots"),
    Case("are there similar ones?", ["紫砂茶壶"], [], page="ceramic-teapot"),
    Case("what's in my last order?", ["100004"], ["100003"], user="customer"),
    Case("where is order 100001? my email is customer@example.com", ["signing in"], ["Complete"]),
    Case("when will the wireless earbuds be back in stock?", ["out of stock", "talk to a human"], []),
    Case("what colours does the t-shirt come in?", ["white, navy and olive"], []),
    Case("does the casserole come in red?", ["No", "sage green"], []),
    Case("is the t-shirt available in navy?", ["Yes", "navy"], []),
    Case("how many cups does the french press make?", ["eight cups"], ["Tea Cups"]),
    Case("cheaper than the down jacket?", ["Fleece Jacket", "Waterproof Jacket"], []),
    Case("有没有防水的鞋？", ["Waterproof Walking Shoes"], ["Trail Running Shoes"]),
    Case("电子产品有哪些？", ["USB-C Charging Cable"], []),
    Case("where can I find my tracking number?", ["email with its tracking number"], []),
    Case("what happens if I'm not home for delivery?", ["couldn't find that"], ["Standard delivery"]),
    Case("do you have a physical store?", ["couldn't find"], ["Stove"]),
    Case("what's the weather like?", ["couldn't find"], ["Leather"]),
    Case("soy candel", ["Soy Wax Candle"], []),
    Case("jacket in XXL", ["Waterproof Jacket", "Fleece Jacket", "Down Jacket"], []),
    Case("shoes in size 3", ["Canvas Sneakers", "Waterproof Walking Shoes"], ["Trail Running"]),
    Case("登山靴多少钱？", ["Hiking Boots", "£135.00"], ["Chelsea"]),
    Case("跑鞋有几码？", ["5-12"], []),
    Case("最便宜的茶具", ["Blue and White Tea Cups", "£24.00"], ["Tea Bags"]),
    Case("还有别的颜色吗？", ["white, navy and olive"], [], page="organic-cotton-t-shirt"),
    Case("满多少包邮？", ["£50"], []),
    Case("穿过的鞋可以退吗？", ["worn indoors only"], []),
    Case("开封的茶叶能退吗？", ["不予退货"], []),
    Case("支持PayPal吗？", ["PayPal"], ["没有找到"]),
    Case("订单100007到哪了？guest@example.com", ["100007", "Being processed"], []),
    Case("订单100002的物流单号是多少？", ["15501234567890"], ["100004"], user="customer"),
    Case("有没有红茶？", ["Earl Grey", "English Breakfast"], ["Sencha"]),
    Case("羽绒服和冲锋衣有什么区别？", ["Down Jacket", "Waterproof Jacket"], []),
    Case("do you have tents for a family of four?", ["Two-Person Backpacking Tent", "for 2"], ["family"]),
    Case("what's the warmest jacket?", ["warmest is the **[羽绒服 Down Jacket"], []),
    Case("how long until I get my money back?", ["5 working days"], ["30 days"]),
    Case("is opened tea returnable?", ["opened food and tea cannot be returned"], []),
    Case("is this one waterproof?", ["Yes", "waterproof"], [], page="waterproof-jacket"),
    Case("is this one waterproof?", ["Partly", "water-resistant"], [], page="four-season-sleeping-bag"),
    Case("how heavy is this?", ["620 g"], [], page="hiking-boots"),
    Case("something for making coffee", ["French Press Coffee Maker"], ["making coffee"]),
    Case("can I bring the power bank on a flight?", ["cabin baggage"], []),
    Case("shipping cost to Germany", ["£12.95"], []),
    Case("可以寄到法国吗？", ["£12.95"], []),
    Case("I need boots for winter hiking", ["Hiking Boots"], ["Chelsea", "winter"]),
    Case("is anything on sale?", ["couldn't find"], ["Kitchen Scale"]),
    Case("羊毛毯多大？", ["130 x 180 cm"], ["Socks"]),
    Case("any cheaper ones?", ["nothing cheaper"], ["Water Bottle"], before=["which sleeping bag is the warmest?"]),
    Case("请问登山靴有42码吗？", ["4-12"], []),
]
