"""The demo storefront's content: catalog, policy pages, accounts and orders, and the code that loads them.

The data modules hold plain records; `shop_site.demo.loader` turns them into Oscar rows idempotently, so
`load_demo_shop` can run on every `make demo` without duplicating anything.
"""
