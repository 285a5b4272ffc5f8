/* Server-sent events read from a fetch body: "event:/data:" blocks separated by blank lines. */

// Splits text that arrives in pieces into events; emit(event, payload) gets each one whose data is JSON.
// Lines may end in \n, \r\n or \r; comments (":") and unknown fields are skipped; several data lines
// are joined with \n; a last block without its blank line is still read at end().
export function createEventParser(emit) {
  var buffer = "";

  function dispatch(block) {
    var event = "message";
    var data = [];
    block.split("\n").forEach(function (line) {
      if (!line || line.charAt(0) === ":") return;
      var colon = line.indexOf(":");
      var field = colon < 0 ? line : line.slice(0, colon);
      var value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.charAt(0) === " ") value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    });
    if (!data.length) return;
    var payload;
    try {
      payload = JSON.parse(data.join("\n"));
    } catch (e) {
      return;
    }
    emit(event, payload);
  }

  function drain(final) {
    // A lone "\r" at the very end may be the first half of "\r\n": leave it for the next chunk.
    buffer = buffer.replace(/\r\n|\r(?!$)/g, "\n");
    var cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      dispatch(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
    }
    if (final && buffer.trim()) dispatch(buffer.replace(/\r/g, ""));
  }

  return {
    push: function (chunk) {
      buffer += chunk;
      drain(false);
    },
    end: function (chunk) {
      buffer += chunk || "";
      drain(true);
      buffer = "";
    }
  };
}

// Reads a response body to its end. The decoder keeps multi-byte characters that straddle network
// chunks intact ({stream: true}).
export function readEvents(body, emit) {
  var reader = body.getReader();
  var decoder = new TextDecoder();
  var parser = createEventParser(emit);

  function pump() {
    return reader.read().then(function (chunk) {
      if (chunk.done) {
        parser.end(decoder.decode());
        return;
      }
      parser.push(decoder.decode(chunk.value, { stream: true }));
      return pump();
    });
  }
  return pump();
}
