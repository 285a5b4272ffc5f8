/* Entry point of chatbot/static/chatbot/chat.js, the chat window loader.js fetches on demand: registers
   the builtin transport and the window's factory on window.ShopChatbot. */
import { builtinTransport } from "./transport.js";
import { createUI } from "./ui/window.js";

(function () {
  var SC = window.ShopChatbot;
  if (!SC || !SC._define) return;
  SC.transports.builtin = builtinTransport;
  SC._define(createUI);
})();
