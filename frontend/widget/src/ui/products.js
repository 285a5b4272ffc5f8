/* Product cards under a reply: image, title, price, stock, View and Add to basket. */
import { csrfToken } from "../../../shared/wire.js";
import { capitalised, el, text } from "../dom.js";
import { safeUrl } from "../markdown.js";

// A visible action word, completed for screen readers by the product's title ("View Boots").
function action(node, word, title) {
  node.appendChild(text(word));
  node.appendChild(el("span", "vh", " " + title));
  return node;
}

// Oscar's own add-to-basket form, posted as the product page would: the page reloads with the
// shop's confirmation and its basket total, and the chat reopens where it was.
function basketForm(ctx, p) {
  var add = (ctx.config.basket || {}).add;
  if (!add || !p.in_stock || !/^\d+$/.test(String(p.id))) return null;
  var form = el("form", "card-add");
  form.method = "post";
  form.action = add.replace("{id}", p.id);
  [["csrfmiddlewaretoken", ""], ["quantity", "1"]].forEach(function (field) {
    var hidden = el("input");
    hidden.type = "hidden";
    hidden.name = field[0];
    hidden.value = field[1];
    form.appendChild(hidden);
  });
  var submit = action(el("button", "card-btn primary"), ctx.S.addToBasket, p.title || "");
  submit.type = "submit";
  form.appendChild(submit);
  form.addEventListener("submit", function () {
    form.firstChild.value = csrfToken(ctx.config, document.cookie);
  });
  return form;
}

export function renderProducts(ctx, view, items) {
  if (!items || !items.length) return;
  var S = ctx.S;
  var list = el("ul", "cards" + (items.length > 1 ? " many" : ""));
  ctx.mark(list, null, "products");
  items.forEach(function (p) {
    var href = safeUrl(p.url);
    var item = el("li", "card");
    var image = p.image && safeUrl(p.image);
    if (image) {
      var img = el("img", "card-img");
      img.src = image.href;
      img.alt = "";
      img.loading = "lazy";
      img.decoding = "async";
      img.width = 64;
      img.height = 64;
      item.appendChild(img);
    } else {
      item.appendChild(el("span", "card-img", (p.title || "?").charAt(0))).setAttribute("aria-hidden", "true");
    }
    var info = el("div", "card-info");
    info.appendChild(el("span", "card-title", p.title || ""));
    var meta = el("span", "card-meta");
    if (p.price) meta.appendChild(el("span", "price", p.price));
    meta.appendChild(el("span", p.in_stock ? "stock in" : "stock out", capitalised(p.availability) || (p.in_stock ? S.inStock : S.outOfStock)));
    info.appendChild(meta);
    var actions = el("div", "card-actions");
    if (href) {
      var link = action(el("a", "card-btn"), S.view, p.title || "");
      link.href = href.href;
      actions.appendChild(link);
    }
    var form = basketForm(ctx, p);
    if (form) actions.appendChild(form);
    if (actions.firstChild) info.appendChild(actions);
    item.appendChild(info);
    list.appendChild(item);
  });
  view.node.appendChild(list);
}
