"""What the local assistant says, in English and Chinese. It answers in the language it is asked in."""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hello! I'm the {shop} assistant. I can help with products, prices, stock, "
        "shipping, returns and your orders.",
        "thanks": "You're welcome! Is there anything else I can help with?",
        "found_one": "Here's what I found:",
        "found_many": "I found {count} products that match:",
        "not_found": "I couldn't find any products matching \"{query}\". Try other words, browse the "
        "catalogue, or ask to talk to a human.",
        "ask_what": "What are you looking for? You can ask about a product, its price or stock, shipping, "
        "returns or an order.",
        "in_stock": "in stock",
        "in_stock_count": "in stock ({count} available)",
        "low_stock": "only {count} left",
        "out_of_stock": "out of stock",
        "price": "Price",
        "orders_intro": "Here are your most recent orders:",
        "order_one": "Order **{number}**: {status}",
        "order_placed": "placed {date}",
        "order_total": "total {total}",
        "order_items": "Items: {items}",
        "order_link": "[View order details]({url})",
        "no_orders": "I can't find any orders on your account yet.",
        "order_not_yours": "I couldn't find order {number} for your account. Please check the number, or "
        "ask to talk to a human.",
        "order_guest_needs": "I can look up an order with its order number and the email address it was "
        "placed with, for example: \"order 100001, jane@example.com\". Or sign in to see all your orders.",
        "order_guest_not_found": "I couldn't find an order with that number and email address. Please check "
        "both, or ask to talk to a human.",
        "policy_more": "[Read the full {title} page]({url})",
        "policy_missing": "I don't have that policy to hand. A member of our team can tell you: just ask to "
        "talk to a human.",
        "no_catalogue": "I can't look up products in this shop. A member of our team can help: just ask to "
        "talk to a human.",
        "human_hint": "If you'd like, I can pass you to a member of our team: just say \"talk to a human\".",
    },
    "zh-hans": {
        "greeting": "您好！我是{shop}的智能客服，可以为您解答商品、价格、库存、配送、退货和订单等问题。",
        "thanks": "不客气！还有什么可以帮您的吗？",
        "found_one": "为您找到以下商品：",
        "found_many": "为您找到 {count} 件相关商品：",
        "not_found": "没有找到与“{query}”相关的商品。您可以换个说法、浏览商品目录，或者输入“转人工”联系客服。",
        "ask_what": "请问您想了解什么？可以问我商品、价格、库存、配送、退货或订单。",
        "in_stock": "有货",
        "in_stock_count": "有货（库存 {count} 件）",
        "low_stock": "仅剩 {count} 件",
        "out_of_stock": "缺货",
        "price": "价格",
        "orders_intro": "这是您最近的订单：",
        "order_one": "订单 **{number}**：{status}",
        "order_placed": "下单时间 {date}",
        "order_total": "合计 {total}",
        "order_items": "商品：{items}",
        "order_link": "[查看订单详情]({url})",
        "no_orders": "您的账户中还没有订单。",
        "order_not_yours": "在您的账户中没有找到订单 {number}。请核对订单号，或输入“转人工”联系客服。",
        "order_guest_needs": "请提供订单号和下单时使用的邮箱，例如：“订单 100001，jane@example.com”。"
        "也可以登录后查看全部订单。",
        "order_guest_not_found": "没有找到与该订单号和邮箱匹配的订单，请核对后重试，或输入“转人工”联系客服。",
        "policy_more": "[查看完整的{title}页面]({url})",
        "policy_missing": "我暂时没有这方面的政策信息。输入“转人工”，客服人员会为您解答。",
        "no_catalogue": "我无法查询本店的商品。输入“转人工”，客服人员会为您解答。",
        "human_hint": "如需人工服务，请输入“转人工”。",
    },
}

SUGGESTIONS: dict[str, list[str]] = {
    "en": ["What are your shipping options?", "How do returns work?", "Where is my order?"],
    "zh-hans": ["运费怎么算？", "怎么退货？", "我的订单到哪了？"],
}

# Words that carry no meaning for a catalogue search.
STOPWORDS = frozenset(
    [
        "a", "about", "also", "an", "and", "any", "anything", "are", "as", "at", "available", "be", "best",
        "buy", "can", "cheap", "cheapest", "cost", "costs", "could", "do", "does", "find", "for", "from",
        "get", "good", "got", "has", "have", "hello", "hey", "hi", "how", "i", "i'd", "i'm", "in", "is",
        "it", "item", "items", "its", "left", "like", "looking", "many", "me", "much", "my", "need", "of",
        "on", "or", "our", "please", "price", "prices", "product", "products", "recommend",
        "recommendation", "sell", "selling", "sells", "show", "some", "something", "still", "stock",
        "stuff", "tell", "that", "the", "them", "there", "they", "thing", "things", "this", "to", "us",
        "want", "we", "what", "whats", "which", "with", "would", "you", "your", "yours",
    ]
)

CHINESE_FILLERS = [
    "请问", "你们", "您们", "有没有", "有吗", "有货吗", "还有货", "还有", "多少钱", "价格", "价钱", "是多少",
    "我想买", "我想要", "我要", "想买", "推荐", "一下", "一些", "什么", "哪些", "库存", "卖", "吗", "呢", "的", "有",
    "吧", "啊", "呀", "给我", "看看", "帮我", "找",
]
