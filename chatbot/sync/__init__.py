"""Sending the shop's products, orders and customers to chatbot-node: in bulk (``chatbot_sync``) and as
signed change webhooks pushed from Django Tasks."""
