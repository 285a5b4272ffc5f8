/* Entry point of chatbot/static/chatbot/stream/chat-stream.js: registers the stream transport on the
   widget (window.ShopChatbot.transports.stream). chat.js loads this file only in stream mode. */
import { StreamChat } from "stream-chat";
import { createStreamTransport } from "./transport.js";

(function () {
  var SC = window.ShopChatbot;
  if (!SC || !SC.transports) return;
  SC.transports.stream = function (config, api) {
    var builtin = api.transports.builtin ? api.transports.builtin(config, api) : null;
    return createStreamTransport(config, api, { StreamChat: StreamChat, base: builtin });
  };
})();
