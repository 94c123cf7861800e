import { createRequire as __nixcacheRequire } from "node:module"; const require = __nixcacheRequire(import.meta.url);
import {
  NIXOS_CACHE,
  NIXOS_CACHE_KEY,
  PathLookup,
  UpstreamFilter,
  advertisedKeys,
  configureNix,
  error,
  formatDuration,
  getIDToken,
  getInput,
  getMultilineInput,
  group,
  info,
  keysFrom,
  notice,
  openCache,
  parseChoiceFlag,
  parseDurationFlag,
  parseIntFlag,
  parseIntOrAutoFlag,
  parsePortFlag,
  parsePositiveIntFlag,
  setFailed,
  setOutput,
  setSecret,
  summary,
  trustedKeysFor,
  warning
} from "./chunk-APNPJ5XS.mjs";
import {
  NixCommandError,
  PushSession,
  configShowForms,
  nixVersion,
  planPush,
  queryPathInfos,
  resolveStorePath,
  runNix,
  runNixForms,
  runNixProgram,
  stripAnsi
} from "./chunk-GBZ6U2MA.mjs";
import {
  HttpCache,
  ciRun,
  githubActionsRun
} from "./chunk-XGGZQKVY.mjs";
import "./chunk-WDP5GUJW.mjs";
import {
  mapLimit,
  pLimit
} from "./chunk-CI2MQBST.mjs";
import "./chunk-GNTT2KTA.mjs";
import {
  cacheToken,
  cachixApiUrl,
  parseSigningKey
} from "./chunk-V6TVRYKQ.mjs";
import {
  DEFAULT_CACHIX_API,
  codeForStatus,
  createPool,
  request
} from "./chunk-VCO3GMX2.mjs";
import {
  external_exports
} from "./chunk-HVBSCZIH.mjs";
import {
  COMPRESSIONS,
  codecBackendName,
  compressionUnsupported,
  defaultCompression
} from "./chunk-GXIWLXRF.mjs";
import {
  DEFAULT_STORE_DIR,
  NixcacheError,
  errorCode,
  errorMessage,
  parsePublicKey,
  parseStorePath,
  parseStorePathBase,
  publicKeyOf
} from "./chunk-HG6QJGPZ.mjs";
import {
  __commonJS,
  __require,
  __toESM
} from "./chunk-QE6XXIDJ.mjs";

// node_modules/yaml/dist/nodes/identity.js
var require_identity = __commonJS({
  "node_modules/yaml/dist/nodes/identity.js"(exports) {
    "use strict";
    var ALIAS = /* @__PURE__ */ Symbol.for("yaml.alias");
    var DOC = /* @__PURE__ */ Symbol.for("yaml.document");
    var MAP = /* @__PURE__ */ Symbol.for("yaml.map");
    var PAIR = /* @__PURE__ */ Symbol.for("yaml.pair");
    var SCALAR = /* @__PURE__ */ Symbol.for("yaml.scalar");
    var SEQ = /* @__PURE__ */ Symbol.for("yaml.seq");
    var NODE_TYPE = /* @__PURE__ */ Symbol.for("yaml.node.type");
    var isAlias = (node) => !!node && typeof node === "object" && node[NODE_TYPE] === ALIAS;
    var isDocument = (node) => !!node && typeof node === "object" && node[NODE_TYPE] === DOC;
    var isMap = (node) => !!node && typeof node === "object" && node[NODE_TYPE] === MAP;
    var isPair = (node) => !!node && typeof node === "object" && node[NODE_TYPE] === PAIR;
    var isScalar = (node) => !!node && typeof node === "object" && node[NODE_TYPE] === SCALAR;
    var isSeq = (node) => !!node && typeof node === "object" && node[NODE_TYPE] === SEQ;
    function isCollection(node) {
      if (node && typeof node === "object")
        switch (node[NODE_TYPE]) {
          case MAP:
          case SEQ:
            return true;
        }
      return false;
    }
    function isNode(node) {
      if (node && typeof node === "object")
        switch (node[NODE_TYPE]) {
          case ALIAS:
          case MAP:
          case SCALAR:
          case SEQ:
            return true;
        }
      return false;
    }
    var hasAnchor = (node) => (isScalar(node) || isCollection(node)) && !!node.anchor;
    exports.ALIAS = ALIAS;
    exports.DOC = DOC;
    exports.MAP = MAP;
    exports.NODE_TYPE = NODE_TYPE;
    exports.PAIR = PAIR;
    exports.SCALAR = SCALAR;
    exports.SEQ = SEQ;
    exports.hasAnchor = hasAnchor;
    exports.isAlias = isAlias;
    exports.isCollection = isCollection;
    exports.isDocument = isDocument;
    exports.isMap = isMap;
    exports.isNode = isNode;
    exports.isPair = isPair;
    exports.isScalar = isScalar;
    exports.isSeq = isSeq;
  }
});

// node_modules/yaml/dist/visit.js
var require_visit = __commonJS({
  "node_modules/yaml/dist/visit.js"(exports) {
    "use strict";
    var identity = require_identity();
    var BREAK = /* @__PURE__ */ Symbol("break visit");
    var SKIP = /* @__PURE__ */ Symbol("skip children");
    var REMOVE = /* @__PURE__ */ Symbol("remove node");
    function visit(node, visitor) {
      const visitor_ = initVisitor(visitor);
      if (identity.isDocument(node)) {
        const cd = visit_(null, node.contents, visitor_, Object.freeze([node]));
        if (cd === REMOVE)
          node.contents = null;
      } else
        visit_(null, node, visitor_, Object.freeze([]));
    }
    visit.BREAK = BREAK;
    visit.SKIP = SKIP;
    visit.REMOVE = REMOVE;
    function visit_(key, node, visitor, path7) {
      const ctrl = callVisitor(key, node, visitor, path7);
      if (identity.isNode(ctrl) || identity.isPair(ctrl)) {
        replaceNode(key, path7, ctrl);
        return visit_(key, ctrl, visitor, path7);
      }
      if (typeof ctrl !== "symbol") {
        if (identity.isCollection(node)) {
          path7 = Object.freeze(path7.concat(node));
          for (let i = 0; i < node.items.length; ++i) {
            const ci2 = visit_(i, node.items[i], visitor, path7);
            if (typeof ci2 === "number")
              i = ci2 - 1;
            else if (ci2 === BREAK)
              return BREAK;
            else if (ci2 === REMOVE) {
              node.items.splice(i, 1);
              i -= 1;
            }
          }
        } else if (identity.isPair(node)) {
          path7 = Object.freeze(path7.concat(node));
          const ck = visit_("key", node.key, visitor, path7);
          if (ck === BREAK)
            return BREAK;
          else if (ck === REMOVE)
            node.key = null;
          const cv = visit_("value", node.value, visitor, path7);
          if (cv === BREAK)
            return BREAK;
          else if (cv === REMOVE)
            node.value = null;
        }
      }
      return ctrl;
    }
    async function visitAsync(node, visitor) {
      const visitor_ = initVisitor(visitor);
      if (identity.isDocument(node)) {
        const cd = await visitAsync_(null, node.contents, visitor_, Object.freeze([node]));
        if (cd === REMOVE)
          node.contents = null;
      } else
        await visitAsync_(null, node, visitor_, Object.freeze([]));
    }
    visitAsync.BREAK = BREAK;
    visitAsync.SKIP = SKIP;
    visitAsync.REMOVE = REMOVE;
    async function visitAsync_(key, node, visitor, path7) {
      const ctrl = await callVisitor(key, node, visitor, path7);
      if (identity.isNode(ctrl) || identity.isPair(ctrl)) {
        replaceNode(key, path7, ctrl);
        return visitAsync_(key, ctrl, visitor, path7);
      }
      if (typeof ctrl !== "symbol") {
        if (identity.isCollection(node)) {
          path7 = Object.freeze(path7.concat(node));
          for (let i = 0; i < node.items.length; ++i) {
            const ci2 = await visitAsync_(i, node.items[i], visitor, path7);
            if (typeof ci2 === "number")
              i = ci2 - 1;
            else if (ci2 === BREAK)
              return BREAK;
            else if (ci2 === REMOVE) {
              node.items.splice(i, 1);
              i -= 1;
            }
          }
        } else if (identity.isPair(node)) {
          path7 = Object.freeze(path7.concat(node));
          const ck = await visitAsync_("key", node.key, visitor, path7);
          if (ck === BREAK)
            return BREAK;
          else if (ck === REMOVE)
            node.key = null;
          const cv = await visitAsync_("value", node.value, visitor, path7);
          if (cv === BREAK)
            return BREAK;
          else if (cv === REMOVE)
            node.value = null;
        }
      }
      return ctrl;
    }
    function initVisitor(visitor) {
      if (typeof visitor === "object" && (visitor.Collection || visitor.Node || visitor.Value)) {
        return Object.assign({
          Alias: visitor.Node,
          Map: visitor.Node,
          Scalar: visitor.Node,
          Seq: visitor.Node
        }, visitor.Value && {
          Map: visitor.Value,
          Scalar: visitor.Value,
          Seq: visitor.Value
        }, visitor.Collection && {
          Map: visitor.Collection,
          Seq: visitor.Collection
        }, visitor);
      }
      return visitor;
    }
    function callVisitor(key, node, visitor, path7) {
      if (typeof visitor === "function")
        return visitor(key, node, path7);
      if (identity.isMap(node))
        return visitor.Map?.(key, node, path7);
      if (identity.isSeq(node))
        return visitor.Seq?.(key, node, path7);
      if (identity.isPair(node))
        return visitor.Pair?.(key, node, path7);
      if (identity.isScalar(node))
        return visitor.Scalar?.(key, node, path7);
      if (identity.isAlias(node))
        return visitor.Alias?.(key, node, path7);
      return void 0;
    }
    function replaceNode(key, path7, node) {
      const parent = path7[path7.length - 1];
      if (identity.isCollection(parent)) {
        parent.items[key] = node;
      } else if (identity.isPair(parent)) {
        if (key === "key")
          parent.key = node;
        else
          parent.value = node;
      } else if (identity.isDocument(parent)) {
        parent.contents = node;
      } else {
        const pt = identity.isAlias(parent) ? "alias" : "scalar";
        throw new Error(`Cannot replace node with ${pt} parent`);
      }
    }
    exports.visit = visit;
    exports.visitAsync = visitAsync;
  }
});

// node_modules/yaml/dist/doc/directives.js
var require_directives = __commonJS({
  "node_modules/yaml/dist/doc/directives.js"(exports) {
    "use strict";
    var identity = require_identity();
    var visit = require_visit();
    var escapeChars = {
      "!": "%21",
      ",": "%2C",
      "[": "%5B",
      "]": "%5D",
      "{": "%7B",
      "}": "%7D"
    };
    var escapeTagName = (tn) => tn.replace(/[!,[\]{}]/g, (ch) => escapeChars[ch]);
    var Directives = class _Directives {
      constructor(yaml, tags) {
        this.docStart = null;
        this.docEnd = false;
        this.yaml = Object.assign({}, _Directives.defaultYaml, yaml);
        this.tags = Object.assign({}, _Directives.defaultTags, tags);
      }
      clone() {
        const copy = new _Directives(this.yaml, this.tags);
        copy.docStart = this.docStart;
        return copy;
      }
      /**
       * During parsing, get a Directives instance for the current document and
       * update the stream state according to the current version's spec.
       */
      atDocument() {
        const res = new _Directives(this.yaml, this.tags);
        switch (this.yaml.version) {
          case "1.1":
            this.atNextDocument = true;
            break;
          case "1.2":
            this.atNextDocument = false;
            this.yaml = {
              explicit: _Directives.defaultYaml.explicit,
              version: "1.2"
            };
            this.tags = Object.assign({}, _Directives.defaultTags);
            break;
        }
        return res;
      }
      /**
       * @param onError - May be called even if the action was successful
       * @returns `true` on success
       */
      add(line, onError) {
        if (this.atNextDocument) {
          this.yaml = { explicit: _Directives.defaultYaml.explicit, version: "1.1" };
          this.tags = Object.assign({}, _Directives.defaultTags);
          this.atNextDocument = false;
        }
        const parts = line.trim().split(/[ \t]+/);
        const name = parts.shift();
        switch (name) {
          case "%TAG": {
            if (parts.length !== 2) {
              onError(0, "%TAG directive should contain exactly two parts");
              if (parts.length < 2)
                return false;
            }
            const [handle, prefix] = parts;
            this.tags[handle] = prefix;
            return true;
          }
          case "%YAML": {
            this.yaml.explicit = true;
            if (parts.length !== 1) {
              onError(0, "%YAML directive should contain exactly one part");
              return false;
            }
            const [version] = parts;
            if (version === "1.1" || version === "1.2") {
              this.yaml.version = version;
              return true;
            } else {
              const isValid = /^\d+\.\d+$/.test(version);
              onError(6, `Unsupported YAML version ${version}`, isValid);
              return false;
            }
          }
          default:
            onError(0, `Unknown directive ${name}`, true);
            return false;
        }
      }
      /**
       * Resolves a tag, matching handles to those defined in %TAG directives.
       *
       * @returns Resolved tag, which may also be the non-specific tag `'!'` or a
       *   `'!local'` tag, or `null` if unresolvable.
       */
      tagName(source, onError) {
        if (source === "!")
          return "!";
        if (source[0] !== "!") {
          onError(`Not a valid tag: ${source}`);
          return null;
        }
        if (source[1] === "<") {
          const verbatim = source.slice(2, -1);
          if (verbatim === "!" || verbatim === "!!") {
            onError(`Verbatim tags aren't resolved, so ${source} is invalid.`);
            return null;
          }
          if (source[source.length - 1] !== ">")
            onError("Verbatim tags must end with a >");
          return verbatim;
        }
        const [, handle, suffix] = source.match(/^(.*!)([^!]*)$/s);
        if (!suffix)
          onError(`The ${source} tag has no suffix`);
        const prefix = this.tags[handle];
        if (prefix) {
          try {
            return prefix + decodeURIComponent(suffix);
          } catch (error2) {
            onError(String(error2));
            return null;
          }
        }
        if (handle === "!")
          return source;
        onError(`Could not resolve tag: ${source}`);
        return null;
      }
      /**
       * Given a fully resolved tag, returns its printable string form,
       * taking into account current tag prefixes and defaults.
       */
      tagString(tag) {
        for (const [handle, prefix] of Object.entries(this.tags)) {
          if (tag.startsWith(prefix))
            return handle + escapeTagName(tag.substring(prefix.length));
        }
        return tag[0] === "!" ? tag : `!<${tag}>`;
      }
      toString(doc) {
        const lines = this.yaml.explicit ? [`%YAML ${this.yaml.version || "1.2"}`] : [];
        const tagEntries = Object.entries(this.tags);
        let tagNames;
        if (doc && tagEntries.length > 0 && identity.isNode(doc.contents)) {
          const tags = {};
          visit.visit(doc.contents, (_key, node) => {
            if (identity.isNode(node) && node.tag)
              tags[node.tag] = true;
          });
          tagNames = Object.keys(tags);
        } else
          tagNames = [];
        for (const [handle, prefix] of tagEntries) {
          if (handle === "!!" && prefix === "tag:yaml.org,2002:")
            continue;
          if (!doc || tagNames.some((tn) => tn.startsWith(prefix)))
            lines.push(`%TAG ${handle} ${prefix}`);
        }
        return lines.join("\n");
      }
    };
    Directives.defaultYaml = { explicit: false, version: "1.2" };
    Directives.defaultTags = { "!!": "tag:yaml.org,2002:" };
    exports.Directives = Directives;
  }
});

// node_modules/yaml/dist/doc/anchors.js
var require_anchors = __commonJS({
  "node_modules/yaml/dist/doc/anchors.js"(exports) {
    "use strict";
    var identity = require_identity();
    var visit = require_visit();
    function anchorIsValid(anchor) {
      if (/[\x00-\x19\s,[\]{}]/.test(anchor)) {
        const sa = JSON.stringify(anchor);
        const msg = `Anchor must not contain whitespace or control characters: ${sa}`;
        throw new Error(msg);
      }
      return true;
    }
    function anchorNames(root) {
      const anchors = /* @__PURE__ */ new Set();
      visit.visit(root, {
        Value(_key, node) {
          if (node.anchor)
            anchors.add(node.anchor);
        }
      });
      return anchors;
    }
    function findNewAnchor(prefix, exclude) {
      for (let i = 1; true; ++i) {
        const name = `${prefix}${i}`;
        if (!exclude.has(name))
          return name;
      }
    }
    function createNodeAnchors(doc, prefix) {
      const aliasObjects = [];
      const sourceObjects = /* @__PURE__ */ new Map();
      let prevAnchors = null;
      return {
        onAnchor: (source) => {
          aliasObjects.push(source);
          prevAnchors ?? (prevAnchors = anchorNames(doc));
          const anchor = findNewAnchor(prefix, prevAnchors);
          prevAnchors.add(anchor);
          return anchor;
        },
        /**
         * With circular references, the source node is only resolved after all
         * of its child nodes are. This is why anchors are set only after all of
         * the nodes have been created.
         */
        setAnchors: () => {
          for (const source of aliasObjects) {
            const ref = sourceObjects.get(source);
            if (typeof ref === "object" && ref.anchor && (identity.isScalar(ref.node) || identity.isCollection(ref.node))) {
              ref.node.anchor = ref.anchor;
            } else {
              const error2 = new Error("Failed to resolve repeated object (this should not happen)");
              error2.source = source;
              throw error2;
            }
          }
        },
        sourceObjects
      };
    }
    exports.anchorIsValid = anchorIsValid;
    exports.anchorNames = anchorNames;
    exports.createNodeAnchors = createNodeAnchors;
    exports.findNewAnchor = findNewAnchor;
  }
});

// node_modules/yaml/dist/doc/applyReviver.js
var require_applyReviver = __commonJS({
  "node_modules/yaml/dist/doc/applyReviver.js"(exports) {
    "use strict";
    function applyReviver(reviver, obj, key, val) {
      if (val && typeof val === "object") {
        if (Array.isArray(val)) {
          for (let i = 0, len = val.length; i < len; ++i) {
            const v0 = val[i];
            const v1 = applyReviver(reviver, val, String(i), v0);
            if (v1 === void 0)
              delete val[i];
            else if (v1 !== v0)
              val[i] = v1;
          }
        } else if (val instanceof Map) {
          for (const k of Array.from(val.keys())) {
            const v0 = val.get(k);
            const v1 = applyReviver(reviver, val, k, v0);
            if (v1 === void 0)
              val.delete(k);
            else if (v1 !== v0)
              val.set(k, v1);
          }
        } else if (val instanceof Set) {
          for (const v0 of Array.from(val)) {
            const v1 = applyReviver(reviver, val, v0, v0);
            if (v1 === void 0)
              val.delete(v0);
            else if (v1 !== v0) {
              val.delete(v0);
              val.add(v1);
            }
          }
        } else {
          for (const [k, v0] of Object.entries(val)) {
            const v1 = applyReviver(reviver, val, k, v0);
            if (v1 === void 0)
              delete val[k];
            else if (v1 !== v0)
              val[k] = v1;
          }
        }
      }
      return reviver.call(obj, key, val);
    }
    exports.applyReviver = applyReviver;
  }
});

// node_modules/yaml/dist/nodes/toJS.js
var require_toJS = __commonJS({
  "node_modules/yaml/dist/nodes/toJS.js"(exports) {
    "use strict";
    var identity = require_identity();
    function toJS(value, arg, ctx) {
      if (Array.isArray(value))
        return value.map((v, i) => toJS(v, String(i), ctx));
      if (value && typeof value.toJSON === "function") {
        if (!ctx || !identity.hasAnchor(value))
          return value.toJSON(arg, ctx);
        const data = { aliasCount: 0, count: 1, res: void 0 };
        ctx.anchors.set(value, data);
        ctx.onCreate = (res2) => {
          data.res = res2;
          delete ctx.onCreate;
        };
        const res = value.toJSON(arg, ctx);
        if (ctx.onCreate)
          ctx.onCreate(res);
        return res;
      }
      if (typeof value === "bigint" && !ctx?.keep)
        return Number(value);
      return value;
    }
    exports.toJS = toJS;
  }
});

// node_modules/yaml/dist/nodes/Node.js
var require_Node = __commonJS({
  "node_modules/yaml/dist/nodes/Node.js"(exports) {
    "use strict";
    var applyReviver = require_applyReviver();
    var identity = require_identity();
    var toJS = require_toJS();
    var NodeBase = class {
      constructor(type) {
        Object.defineProperty(this, identity.NODE_TYPE, { value: type });
      }
      /** Create a copy of this node.  */
      clone() {
        const copy = Object.create(Object.getPrototypeOf(this), Object.getOwnPropertyDescriptors(this));
        if (this.range)
          copy.range = this.range.slice();
        return copy;
      }
      /** A plain JavaScript representation of this node. */
      toJS(doc, { mapAsMap, maxAliasCount, onAnchor, reviver } = {}) {
        if (!identity.isDocument(doc))
          throw new TypeError("A document argument is required");
        const ctx = {
          anchors: /* @__PURE__ */ new Map(),
          doc,
          keep: true,
          mapAsMap: mapAsMap === true,
          mapKeyWarned: false,
          maxAliasCount: typeof maxAliasCount === "number" ? maxAliasCount : 100
        };
        const res = toJS.toJS(this, "", ctx);
        if (typeof onAnchor === "function")
          for (const { count, res: res2 } of ctx.anchors.values())
            onAnchor(res2, count);
        return typeof reviver === "function" ? applyReviver.applyReviver(reviver, { "": res }, "", res) : res;
      }
    };
    exports.NodeBase = NodeBase;
  }
});

// node_modules/yaml/dist/nodes/Alias.js
var require_Alias = __commonJS({
  "node_modules/yaml/dist/nodes/Alias.js"(exports) {
    "use strict";
    var anchors = require_anchors();
    var visit = require_visit();
    var identity = require_identity();
    var Node = require_Node();
    var toJS = require_toJS();
    var Alias = class extends Node.NodeBase {
      constructor(source) {
        super(identity.ALIAS);
        this.source = source;
        Object.defineProperty(this, "tag", {
          set() {
            throw new Error("Alias nodes cannot have tags");
          }
        });
      }
      /**
       * Resolve the value of this alias within `doc`, finding the last
       * instance of the `source` anchor before this node.
       */
      resolve(doc, ctx) {
        if (ctx?.maxAliasCount === 0)
          throw new ReferenceError("Alias resolution is disabled");
        let nodes;
        if (ctx?.aliasResolveCache) {
          nodes = ctx.aliasResolveCache;
        } else {
          nodes = [];
          visit.visit(doc, {
            Node: (_key, node) => {
              if (identity.isAlias(node) || identity.hasAnchor(node))
                nodes.push(node);
            }
          });
          if (ctx)
            ctx.aliasResolveCache = nodes;
        }
        let found = void 0;
        for (const node of nodes) {
          if (node === this)
            break;
          if (node.anchor === this.source)
            found = node;
        }
        if (found && ctx) {
          const { anchors: anchors2, doc: doc2, maxAliasCount } = ctx;
          let data = anchors2.get(found);
          if (!data) {
            toJS.toJS(found, null, ctx);
            data = anchors2.get(found);
          }
          if (data?.res === void 0) {
            const msg = "This should not happen: Alias anchor was not resolved?";
            throw new ReferenceError(msg);
          }
          if (maxAliasCount >= 0) {
            data.count += 1;
            if (data.aliasCount === 0)
              data.aliasCount = getAliasCount(doc2, found, anchors2);
            if (data.count * data.aliasCount > maxAliasCount) {
              const msg = "Excessive alias count indicates a resource exhaustion attack";
              throw new ReferenceError(msg);
            }
          }
        }
        return found;
      }
      toJSON(_arg, ctx) {
        if (!ctx)
          return { source: this.source };
        const source = this.resolve(ctx.doc, ctx);
        if (!source) {
          const msg = `Unresolved alias (the anchor must be set before the alias): ${this.source}`;
          throw new ReferenceError(msg);
        }
        return ctx.anchors.get(source).res;
      }
      toString(ctx, _onComment, _onChompKeep) {
        const src = `*${this.source}`;
        if (ctx) {
          anchors.anchorIsValid(this.source);
          if (ctx.options.verifyAliasOrder && !ctx.anchors.has(this.source)) {
            const msg = `Unresolved alias (the anchor must be set before the alias): ${this.source}`;
            throw new Error(msg);
          }
          if (ctx.implicitKey)
            return `${src} `;
        }
        return src;
      }
    };
    function getAliasCount(doc, node, anchors2) {
      if (identity.isAlias(node)) {
        const source = node.resolve(doc);
        const anchor = anchors2 && source && anchors2.get(source);
        return anchor ? anchor.count * anchor.aliasCount : 0;
      } else if (identity.isCollection(node)) {
        let count = 0;
        for (const item of node.items) {
          const c = getAliasCount(doc, item, anchors2);
          if (c > count)
            count = c;
        }
        return count;
      } else if (identity.isPair(node)) {
        const kc = getAliasCount(doc, node.key, anchors2);
        const vc = getAliasCount(doc, node.value, anchors2);
        return Math.max(kc, vc);
      }
      return 1;
    }
    exports.Alias = Alias;
  }
});

// node_modules/yaml/dist/nodes/Scalar.js
var require_Scalar = __commonJS({
  "node_modules/yaml/dist/nodes/Scalar.js"(exports) {
    "use strict";
    var identity = require_identity();
    var Node = require_Node();
    var toJS = require_toJS();
    var isScalarValue = (value) => !value || typeof value !== "function" && typeof value !== "object";
    var Scalar = class extends Node.NodeBase {
      constructor(value) {
        super(identity.SCALAR);
        this.value = value;
      }
      toJSON(arg, ctx) {
        return ctx?.keep ? this.value : toJS.toJS(this.value, arg, ctx);
      }
      toString() {
        return String(this.value);
      }
    };
    Scalar.BLOCK_FOLDED = "BLOCK_FOLDED";
    Scalar.BLOCK_LITERAL = "BLOCK_LITERAL";
    Scalar.PLAIN = "PLAIN";
    Scalar.QUOTE_DOUBLE = "QUOTE_DOUBLE";
    Scalar.QUOTE_SINGLE = "QUOTE_SINGLE";
    exports.Scalar = Scalar;
    exports.isScalarValue = isScalarValue;
  }
});

// node_modules/yaml/dist/doc/createNode.js
var require_createNode = __commonJS({
  "node_modules/yaml/dist/doc/createNode.js"(exports) {
    "use strict";
    var Alias = require_Alias();
    var identity = require_identity();
    var Scalar = require_Scalar();
    var defaultTagPrefix = "tag:yaml.org,2002:";
    function findTagObject(value, tagName, tags) {
      if (tagName) {
        const match = tags.filter((t) => t.tag === tagName);
        const tagObj = match.find((t) => !t.format) ?? match[0];
        if (!tagObj)
          throw new Error(`Tag ${tagName} not found`);
        return tagObj;
      }
      return tags.find((t) => t.identify?.(value) && !t.format);
    }
    function createNode(value, tagName, ctx) {
      if (identity.isDocument(value))
        value = value.contents;
      if (identity.isNode(value))
        return value;
      if (identity.isPair(value)) {
        const map = ctx.schema[identity.MAP].createNode?.(ctx.schema, null, ctx);
        map.items.push(value);
        return map;
      }
      if (value instanceof String || value instanceof Number || value instanceof Boolean || typeof BigInt !== "undefined" && value instanceof BigInt) {
        value = value.valueOf();
      }
      const { aliasDuplicateObjects, onAnchor, onTagObj, schema, sourceObjects } = ctx;
      let ref = void 0;
      if (aliasDuplicateObjects && value && typeof value === "object") {
        ref = sourceObjects.get(value);
        if (ref) {
          ref.anchor ?? (ref.anchor = onAnchor(value));
          return new Alias.Alias(ref.anchor);
        } else {
          ref = { anchor: null, node: null };
          sourceObjects.set(value, ref);
        }
      }
      if (tagName?.startsWith("!!"))
        tagName = defaultTagPrefix + tagName.slice(2);
      let tagObj = findTagObject(value, tagName, schema.tags);
      if (!tagObj) {
        if (value && typeof value.toJSON === "function") {
          value = value.toJSON();
        }
        if (!value || typeof value !== "object") {
          const node2 = new Scalar.Scalar(value);
          if (ref)
            ref.node = node2;
          return node2;
        }
        tagObj = value instanceof Map ? schema[identity.MAP] : Symbol.iterator in Object(value) ? schema[identity.SEQ] : schema[identity.MAP];
      }
      if (onTagObj) {
        onTagObj(tagObj);
        delete ctx.onTagObj;
      }
      const node = tagObj?.createNode ? tagObj.createNode(ctx.schema, value, ctx) : typeof tagObj?.nodeClass?.from === "function" ? tagObj.nodeClass.from(ctx.schema, value, ctx) : new Scalar.Scalar(value);
      if (tagName)
        node.tag = tagName;
      else if (!tagObj.default)
        node.tag = tagObj.tag;
      if (ref)
        ref.node = node;
      return node;
    }
    exports.createNode = createNode;
  }
});

// node_modules/yaml/dist/nodes/Collection.js
var require_Collection = __commonJS({
  "node_modules/yaml/dist/nodes/Collection.js"(exports) {
    "use strict";
    var createNode = require_createNode();
    var identity = require_identity();
    var Node = require_Node();
    function collectionFromPath(schema, path7, value) {
      let v = value;
      for (let i = path7.length - 1; i >= 0; --i) {
        const k = path7[i];
        if (typeof k === "number" && Number.isInteger(k) && k >= 0) {
          const a = [];
          a[k] = v;
          v = a;
        } else {
          v = /* @__PURE__ */ new Map([[k, v]]);
        }
      }
      return createNode.createNode(v, void 0, {
        aliasDuplicateObjects: false,
        keepUndefined: false,
        onAnchor: () => {
          throw new Error("This should not happen, please report a bug.");
        },
        schema,
        sourceObjects: /* @__PURE__ */ new Map()
      });
    }
    var isEmptyPath = (path7) => path7 == null || typeof path7 === "object" && !!path7[Symbol.iterator]().next().done;
    var Collection = class extends Node.NodeBase {
      constructor(type, schema) {
        super(type);
        Object.defineProperty(this, "schema", {
          value: schema,
          configurable: true,
          enumerable: false,
          writable: true
        });
      }
      /**
       * Create a copy of this collection.
       *
       * @param schema - If defined, overwrites the original's schema
       */
      clone(schema) {
        const copy = Object.create(Object.getPrototypeOf(this), Object.getOwnPropertyDescriptors(this));
        if (schema)
          copy.schema = schema;
        copy.items = copy.items.map((it) => identity.isNode(it) || identity.isPair(it) ? it.clone(schema) : it);
        if (this.range)
          copy.range = this.range.slice();
        return copy;
      }
      /**
       * Adds a value to the collection. For `!!map` and `!!omap` the value must
       * be a Pair instance or a `{ key, value }` object, which may not have a key
       * that already exists in the map.
       */
      addIn(path7, value) {
        if (isEmptyPath(path7))
          this.add(value);
        else {
          const [key, ...rest] = path7;
          const node = this.get(key, true);
          if (identity.isCollection(node))
            node.addIn(rest, value);
          else if (node === void 0 && this.schema)
            this.set(key, collectionFromPath(this.schema, rest, value));
          else
            throw new Error(`Expected YAML collection at ${key}. Remaining path: ${rest}`);
        }
      }
      /**
       * Removes a value from the collection.
       * @returns `true` if the item was found and removed.
       */
      deleteIn(path7) {
        const [key, ...rest] = path7;
        if (rest.length === 0)
          return this.delete(key);
        const node = this.get(key, true);
        if (identity.isCollection(node))
          return node.deleteIn(rest);
        else
          throw new Error(`Expected YAML collection at ${key}. Remaining path: ${rest}`);
      }
      /**
       * Returns item at `key`, or `undefined` if not found. By default unwraps
       * scalar values from their surrounding node; to disable set `keepScalar` to
       * `true` (collections are always returned intact).
       */
      getIn(path7, keepScalar) {
        const [key, ...rest] = path7;
        const node = this.get(key, true);
        if (rest.length === 0)
          return !keepScalar && identity.isScalar(node) ? node.value : node;
        else
          return identity.isCollection(node) ? node.getIn(rest, keepScalar) : void 0;
      }
      hasAllNullValues(allowScalar) {
        return this.items.every((node) => {
          if (!identity.isPair(node))
            return false;
          const n = node.value;
          return n == null || allowScalar && identity.isScalar(n) && n.value == null && !n.commentBefore && !n.comment && !n.tag;
        });
      }
      /**
       * Checks if the collection includes a value with the key `key`.
       */
      hasIn(path7) {
        const [key, ...rest] = path7;
        if (rest.length === 0)
          return this.has(key);
        const node = this.get(key, true);
        return identity.isCollection(node) ? node.hasIn(rest) : false;
      }
      /**
       * Sets a value in this collection. For `!!set`, `value` needs to be a
       * boolean to add/remove the item from the set.
       */
      setIn(path7, value) {
        const [key, ...rest] = path7;
        if (rest.length === 0) {
          this.set(key, value);
        } else {
          const node = this.get(key, true);
          if (identity.isCollection(node))
            node.setIn(rest, value);
          else if (node === void 0 && this.schema)
            this.set(key, collectionFromPath(this.schema, rest, value));
          else
            throw new Error(`Expected YAML collection at ${key}. Remaining path: ${rest}`);
        }
      }
    };
    exports.Collection = Collection;
    exports.collectionFromPath = collectionFromPath;
    exports.isEmptyPath = isEmptyPath;
  }
});

// node_modules/yaml/dist/stringify/stringifyComment.js
var require_stringifyComment = __commonJS({
  "node_modules/yaml/dist/stringify/stringifyComment.js"(exports) {
    "use strict";
    var stringifyComment = (str) => str.replace(/^(?!$)(?: $)?/gm, "#");
    function indentComment(comment, indent) {
      if (/^\n+$/.test(comment))
        return comment.substring(1);
      return indent ? comment.replace(/^(?! *$)/gm, indent) : comment;
    }
    var lineComment = (str, indent, comment) => str.endsWith("\n") ? indentComment(comment, indent) : comment.includes("\n") ? "\n" + indentComment(comment, indent) : (str.endsWith(" ") ? "" : " ") + comment;
    exports.indentComment = indentComment;
    exports.lineComment = lineComment;
    exports.stringifyComment = stringifyComment;
  }
});

// node_modules/yaml/dist/stringify/foldFlowLines.js
var require_foldFlowLines = __commonJS({
  "node_modules/yaml/dist/stringify/foldFlowLines.js"(exports) {
    "use strict";
    var FOLD_FLOW = "flow";
    var FOLD_BLOCK = "block";
    var FOLD_QUOTED = "quoted";
    function foldFlowLines(text, indent, mode = "flow", { indentAtStart, lineWidth = 80, minContentWidth = 20, onFold, onOverflow } = {}) {
      if (!lineWidth || lineWidth < 0)
        return text;
      if (lineWidth < minContentWidth)
        minContentWidth = 0;
      const endStep = Math.max(1 + minContentWidth, 1 + lineWidth - indent.length);
      if (text.length <= endStep)
        return text;
      const folds = [];
      const escapedFolds = {};
      let end = lineWidth - indent.length;
      if (typeof indentAtStart === "number") {
        if (indentAtStart > lineWidth - Math.max(2, minContentWidth))
          folds.push(0);
        else
          end = lineWidth - indentAtStart;
      }
      let split = void 0;
      let prev = void 0;
      let overflow = false;
      let i = -1;
      let escStart = -1;
      let escEnd = -1;
      if (mode === FOLD_BLOCK) {
        i = consumeMoreIndentedLines(text, i, indent.length);
        if (i !== -1)
          end = i + endStep;
      }
      for (let ch; ch = text[i += 1]; ) {
        if (mode === FOLD_QUOTED && ch === "\\") {
          escStart = i;
          switch (text[i + 1]) {
            case "x":
              i += 3;
              break;
            case "u":
              i += 5;
              break;
            case "U":
              i += 9;
              break;
            default:
              i += 1;
          }
          escEnd = i;
        }
        if (ch === "\n") {
          if (mode === FOLD_BLOCK)
            i = consumeMoreIndentedLines(text, i, indent.length);
          end = i + indent.length + endStep;
          split = void 0;
        } else {
          if (ch === " " && prev && prev !== " " && prev !== "\n" && prev !== "	") {
            const next = text[i + 1];
            if (next && next !== " " && next !== "\n" && next !== "	")
              split = i;
          }
          if (i >= end) {
            if (split) {
              folds.push(split);
              end = split + endStep;
              split = void 0;
            } else if (mode === FOLD_QUOTED) {
              while (prev === " " || prev === "	") {
                prev = ch;
                ch = text[i += 1];
                overflow = true;
              }
              const j = i > escEnd + 1 ? i - 2 : escStart - 1;
              if (escapedFolds[j])
                return text;
              folds.push(j);
              escapedFolds[j] = true;
              end = j + endStep;
              split = void 0;
            } else {
              overflow = true;
            }
          }
        }
        prev = ch;
      }
      if (overflow && onOverflow)
        onOverflow();
      if (folds.length === 0)
        return text;
      if (onFold)
        onFold();
      let res = text.slice(0, folds[0]);
      for (let i2 = 0; i2 < folds.length; ++i2) {
        const fold = folds[i2];
        const end2 = folds[i2 + 1] || text.length;
        if (fold === 0)
          res = `
${indent}${text.slice(0, end2)}`;
        else {
          if (mode === FOLD_QUOTED && escapedFolds[fold])
            res += `${text[fold]}\\`;
          res += `
${indent}${text.slice(fold + 1, end2)}`;
        }
      }
      return res;
    }
    function consumeMoreIndentedLines(text, i, indent) {
      let end = i;
      let start = i + 1;
      let ch = text[start];
      while (ch === " " || ch === "	") {
        if (i < start + indent) {
          ch = text[++i];
        } else {
          do {
            ch = text[++i];
          } while (ch && ch !== "\n");
          end = i;
          start = i + 1;
          ch = text[start];
        }
      }
      return end;
    }
    exports.FOLD_BLOCK = FOLD_BLOCK;
    exports.FOLD_FLOW = FOLD_FLOW;
    exports.FOLD_QUOTED = FOLD_QUOTED;
    exports.foldFlowLines = foldFlowLines;
  }
});

// node_modules/yaml/dist/stringify/stringifyString.js
var require_stringifyString = __commonJS({
  "node_modules/yaml/dist/stringify/stringifyString.js"(exports) {
    "use strict";
    var Scalar = require_Scalar();
    var foldFlowLines = require_foldFlowLines();
    var getFoldOptions = (ctx, isBlock) => ({
      indentAtStart: isBlock ? ctx.indent.length : ctx.indentAtStart,
      lineWidth: ctx.options.lineWidth,
      minContentWidth: ctx.options.minContentWidth
    });
    var containsDocumentMarker = (str) => /^(%|---|\.\.\.)/m.test(str);
    function lineLengthOverLimit(str, lineWidth, indentLength) {
      if (!lineWidth || lineWidth < 0)
        return false;
      const limit = lineWidth - indentLength;
      const strLen = str.length;
      if (strLen <= limit)
        return false;
      for (let i = 0, start = 0; i < strLen; ++i) {
        if (str[i] === "\n") {
          if (i - start > limit)
            return true;
          start = i + 1;
          if (strLen - start <= limit)
            return false;
        }
      }
      return true;
    }
    function doubleQuotedString(value, ctx) {
      const json = JSON.stringify(value);
      if (ctx.options.doubleQuotedAsJSON)
        return json;
      const { implicitKey } = ctx;
      const minMultiLineLength = ctx.options.doubleQuotedMinMultiLineLength;
      const indent = ctx.indent || (containsDocumentMarker(value) ? "  " : "");
      let str = "";
      let start = 0;
      for (let i = 0, ch = json[i]; ch; ch = json[++i]) {
        if (ch === " " && json[i + 1] === "\\" && json[i + 2] === "n") {
          str += json.slice(start, i) + "\\ ";
          i += 1;
          start = i;
          ch = "\\";
        }
        if (ch === "\\")
          switch (json[i + 1]) {
            case "u":
              {
                str += json.slice(start, i);
                const code = json.substr(i + 2, 4);
                switch (code) {
                  case "0000":
                    str += "\\0";
                    break;
                  case "0007":
                    str += "\\a";
                    break;
                  case "000b":
                    str += "\\v";
                    break;
                  case "001b":
                    str += "\\e";
                    break;
                  case "0085":
                    str += "\\N";
                    break;
                  case "00a0":
                    str += "\\_";
                    break;
                  case "2028":
                    str += "\\L";
                    break;
                  case "2029":
                    str += "\\P";
                    break;
                  default:
                    if (code.substr(0, 2) === "00")
                      str += "\\x" + code.substr(2);
                    else
                      str += json.substr(i, 6);
                }
                i += 5;
                start = i + 1;
              }
              break;
            case "n":
              if (implicitKey || json[i + 2] === '"' || json.length < minMultiLineLength) {
                i += 1;
              } else {
                str += json.slice(start, i) + "\n\n";
                while (json[i + 2] === "\\" && json[i + 3] === "n" && json[i + 4] !== '"') {
                  str += "\n";
                  i += 2;
                }
                str += indent;
                if (json[i + 2] === " ")
                  str += "\\";
                i += 1;
                start = i + 1;
              }
              break;
            default:
              i += 1;
          }
      }
      str = start ? str + json.slice(start) : json;
      return implicitKey ? str : foldFlowLines.foldFlowLines(str, indent, foldFlowLines.FOLD_QUOTED, getFoldOptions(ctx, false));
    }
    function singleQuotedString(value, ctx) {
      if (ctx.options.singleQuote === false || ctx.implicitKey && value.includes("\n") || /[ \t]\n|\n[ \t]/.test(value))
        return doubleQuotedString(value, ctx);
      const indent = ctx.indent || (containsDocumentMarker(value) ? "  " : "");
      const res = "'" + value.replace(/'/g, "''").replace(/\n+/g, `$&
${indent}`) + "'";
      return ctx.implicitKey ? res : foldFlowLines.foldFlowLines(res, indent, foldFlowLines.FOLD_FLOW, getFoldOptions(ctx, false));
    }
    function quotedString(value, ctx) {
      const { singleQuote } = ctx.options;
      let qs;
      if (singleQuote === false)
        qs = doubleQuotedString;
      else {
        const hasDouble = value.includes('"');
        const hasSingle = value.includes("'");
        if (hasDouble && !hasSingle)
          qs = singleQuotedString;
        else if (hasSingle && !hasDouble)
          qs = doubleQuotedString;
        else
          qs = singleQuote ? singleQuotedString : doubleQuotedString;
      }
      return qs(value, ctx);
    }
    var blockEndNewlines;
    try {
      blockEndNewlines = new RegExp("(^|(?<!\n))\n+(?!\n|$)", "g");
    } catch {
      blockEndNewlines = /\n+(?!\n|$)/g;
    }
    function blockString({ comment, type, value }, ctx, onComment, onChompKeep) {
      const { blockQuote, commentString, lineWidth } = ctx.options;
      if (!blockQuote || /\n[\t ]+$/.test(value)) {
        return quotedString(value, ctx);
      }
      const indent = ctx.indent || (ctx.forceBlockIndent || containsDocumentMarker(value) ? "  " : "");
      const literal = blockQuote === "literal" ? true : blockQuote === "folded" || type === Scalar.Scalar.BLOCK_FOLDED ? false : type === Scalar.Scalar.BLOCK_LITERAL ? true : !lineLengthOverLimit(value, lineWidth, indent.length);
      if (!value)
        return literal ? "|\n" : ">\n";
      let chomp;
      let endStart;
      for (endStart = value.length; endStart > 0; --endStart) {
        const ch = value[endStart - 1];
        if (ch !== "\n" && ch !== "	" && ch !== " ")
          break;
      }
      let end = value.substring(endStart);
      const endNlPos = end.indexOf("\n");
      if (endNlPos === -1) {
        chomp = "-";
      } else if (value === end || endNlPos !== end.length - 1) {
        chomp = "+";
        if (onChompKeep)
          onChompKeep();
      } else {
        chomp = "";
      }
      if (end) {
        value = value.slice(0, -end.length);
        if (end[end.length - 1] === "\n")
          end = end.slice(0, -1);
        end = end.replace(blockEndNewlines, `$&${indent}`);
      }
      let startWithSpace = false;
      let startEnd;
      let startNlPos = -1;
      for (startEnd = 0; startEnd < value.length; ++startEnd) {
        const ch = value[startEnd];
        if (ch === " ")
          startWithSpace = true;
        else if (ch === "\n")
          startNlPos = startEnd;
        else
          break;
      }
      let start = value.substring(0, startNlPos < startEnd ? startNlPos + 1 : startEnd);
      if (start) {
        value = value.substring(start.length);
        start = start.replace(/\n+/g, `$&${indent}`);
      }
      const indentSize = indent ? "2" : "1";
      let header = (startWithSpace ? indentSize : "") + chomp;
      if (comment) {
        header += " " + commentString(comment.replace(/ ?[\r\n]+/g, " "));
        if (onComment)
          onComment();
      }
      if (!literal) {
        const foldedValue = value.replace(/\n+/g, "\n$&").replace(/(?:^|\n)([\t ].*)(?:([\n\t ]*)\n(?![\n\t ]))?/g, "$1$2").replace(/\n+/g, `$&${indent}`);
        let literalFallback = false;
        const foldOptions = getFoldOptions(ctx, true);
        if (blockQuote !== "folded" && type !== Scalar.Scalar.BLOCK_FOLDED) {
          foldOptions.onOverflow = () => {
            literalFallback = true;
          };
        }
        const body = foldFlowLines.foldFlowLines(`${start}${foldedValue}${end}`, indent, foldFlowLines.FOLD_BLOCK, foldOptions);
        if (!literalFallback)
          return `>${header}
${indent}${body}`;
      }
      value = value.replace(/\n+/g, `$&${indent}`);
      return `|${header}
${indent}${start}${value}${end}`;
    }
    function plainString(item, ctx, onComment, onChompKeep) {
      const { type, value } = item;
      const { actualString, implicitKey, indent, indentStep, inFlow } = ctx;
      if (implicitKey && value.includes("\n") || inFlow && /[[\]{},]/.test(value)) {
        return quotedString(value, ctx);
      }
      if (/^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/.test(value)) {
        return implicitKey || inFlow || !value.includes("\n") ? quotedString(value, ctx) : blockString(item, ctx, onComment, onChompKeep);
      }
      if (!implicitKey && !inFlow && type !== Scalar.Scalar.PLAIN && value.includes("\n")) {
        return blockString(item, ctx, onComment, onChompKeep);
      }
      if (containsDocumentMarker(value)) {
        if (indent === "") {
          ctx.forceBlockIndent = true;
          return blockString(item, ctx, onComment, onChompKeep);
        } else if (implicitKey && indent === indentStep) {
          return quotedString(value, ctx);
        }
      }
      const str = value.replace(/\n+/g, `$&
${indent}`);
      if (actualString) {
        const test = (tag) => tag.default && tag.tag !== "tag:yaml.org,2002:str" && tag.test?.test(str);
        const { compat, tags } = ctx.doc.schema;
        if (tags.some(test) || compat?.some(test))
          return quotedString(value, ctx);
      }
      return implicitKey ? str : foldFlowLines.foldFlowLines(str, indent, foldFlowLines.FOLD_FLOW, getFoldOptions(ctx, false));
    }
    function stringifyString(item, ctx, onComment, onChompKeep) {
      const { implicitKey, inFlow } = ctx;
      const ss = typeof item.value === "string" ? item : Object.assign({}, item, { value: String(item.value) });
      let { type } = item;
      if (type !== Scalar.Scalar.QUOTE_DOUBLE) {
        if (/[\x00-\x08\x0b-\x1f\x7f-\x9f\u{D800}-\u{DFFF}]/u.test(ss.value))
          type = Scalar.Scalar.QUOTE_DOUBLE;
      }
      const _stringify = (_type) => {
        switch (_type) {
          case Scalar.Scalar.BLOCK_FOLDED:
          case Scalar.Scalar.BLOCK_LITERAL:
            return implicitKey || inFlow ? quotedString(ss.value, ctx) : blockString(ss, ctx, onComment, onChompKeep);
          case Scalar.Scalar.QUOTE_DOUBLE:
            return doubleQuotedString(ss.value, ctx);
          case Scalar.Scalar.QUOTE_SINGLE:
            return singleQuotedString(ss.value, ctx);
          case Scalar.Scalar.PLAIN:
            return plainString(ss, ctx, onComment, onChompKeep);
          default:
            return null;
        }
      };
      let res = _stringify(type);
      if (res === null) {
        const { defaultKeyType, defaultStringType } = ctx.options;
        const t = implicitKey && defaultKeyType || defaultStringType;
        res = _stringify(t);
        if (res === null)
          throw new Error(`Unsupported default string type ${t}`);
      }
      return res;
    }
    exports.stringifyString = stringifyString;
  }
});

// node_modules/yaml/dist/stringify/stringify.js
var require_stringify = __commonJS({
  "node_modules/yaml/dist/stringify/stringify.js"(exports) {
    "use strict";
    var anchors = require_anchors();
    var identity = require_identity();
    var stringifyComment = require_stringifyComment();
    var stringifyString = require_stringifyString();
    function createStringifyContext(doc, options) {
      const opt = Object.assign({
        blockQuote: true,
        commentString: stringifyComment.stringifyComment,
        defaultKeyType: null,
        defaultStringType: "PLAIN",
        directives: null,
        doubleQuotedAsJSON: false,
        doubleQuotedMinMultiLineLength: 40,
        falseStr: "false",
        flowCollectionPadding: true,
        indentSeq: true,
        lineWidth: 80,
        minContentWidth: 20,
        nullStr: "null",
        simpleKeys: false,
        singleQuote: null,
        trailingComma: false,
        trueStr: "true",
        verifyAliasOrder: true
      }, doc.schema.toStringOptions, options);
      let inFlow;
      switch (opt.collectionStyle) {
        case "block":
          inFlow = false;
          break;
        case "flow":
          inFlow = true;
          break;
        default:
          inFlow = null;
      }
      return {
        anchors: /* @__PURE__ */ new Set(),
        doc,
        flowCollectionPadding: opt.flowCollectionPadding ? " " : "",
        indent: "",
        indentStep: typeof opt.indent === "number" ? " ".repeat(opt.indent) : "  ",
        inFlow,
        options: opt
      };
    }
    function getTagObject(tags, item) {
      if (item.tag) {
        const match = tags.filter((t) => t.tag === item.tag);
        if (match.length > 0)
          return match.find((t) => t.format === item.format) ?? match[0];
      }
      let tagObj = void 0;
      let obj;
      if (identity.isScalar(item)) {
        obj = item.value;
        let match = tags.filter((t) => t.identify?.(obj));
        if (match.length > 1) {
          const testMatch = match.filter((t) => t.test);
          if (testMatch.length > 0)
            match = testMatch;
        }
        tagObj = match.find((t) => t.format === item.format) ?? match.find((t) => !t.format);
      } else {
        obj = item;
        tagObj = tags.find((t) => t.nodeClass && obj instanceof t.nodeClass);
      }
      if (!tagObj) {
        const name = obj?.constructor?.name ?? (obj === null ? "null" : typeof obj);
        throw new Error(`Tag not resolved for ${name} value`);
      }
      return tagObj;
    }
    function stringifyProps(node, tagObj, { anchors: anchors$1, doc }) {
      if (!doc.directives)
        return "";
      const props = [];
      const anchor = (identity.isScalar(node) || identity.isCollection(node)) && node.anchor;
      if (anchor && anchors.anchorIsValid(anchor)) {
        anchors$1.add(anchor);
        props.push(`&${anchor}`);
      }
      const tag = node.tag ?? (tagObj.default ? null : tagObj.tag);
      if (tag)
        props.push(doc.directives.tagString(tag));
      return props.join(" ");
    }
    function stringify(item, ctx, onComment, onChompKeep) {
      if (identity.isPair(item))
        return item.toString(ctx, onComment, onChompKeep);
      if (identity.isAlias(item)) {
        if (ctx.doc.directives)
          return item.toString(ctx);
        if (ctx.resolvedAliases?.has(item)) {
          throw new TypeError(`Cannot stringify circular structure without alias nodes`);
        } else {
          if (ctx.resolvedAliases)
            ctx.resolvedAliases.add(item);
          else
            ctx.resolvedAliases = /* @__PURE__ */ new Set([item]);
          item = item.resolve(ctx.doc);
        }
      }
      let tagObj = void 0;
      const node = identity.isNode(item) ? item : ctx.doc.createNode(item, { onTagObj: (o) => tagObj = o });
      tagObj ?? (tagObj = getTagObject(ctx.doc.schema.tags, node));
      const props = stringifyProps(node, tagObj, ctx);
      if (props.length > 0)
        ctx.indentAtStart = (ctx.indentAtStart ?? 0) + props.length + 1;
      const str = typeof tagObj.stringify === "function" ? tagObj.stringify(node, ctx, onComment, onChompKeep) : identity.isScalar(node) ? stringifyString.stringifyString(node, ctx, onComment, onChompKeep) : node.toString(ctx, onComment, onChompKeep);
      if (!props)
        return str;
      return identity.isScalar(node) || str[0] === "{" || str[0] === "[" ? `${props} ${str}` : `${props}
${ctx.indent}${str}`;
    }
    exports.createStringifyContext = createStringifyContext;
    exports.stringify = stringify;
  }
});

// node_modules/yaml/dist/stringify/stringifyPair.js
var require_stringifyPair = __commonJS({
  "node_modules/yaml/dist/stringify/stringifyPair.js"(exports) {
    "use strict";
    var identity = require_identity();
    var Scalar = require_Scalar();
    var stringify = require_stringify();
    var stringifyComment = require_stringifyComment();
    function stringifyPair({ key, value }, ctx, onComment, onChompKeep) {
      const { allNullValues, doc, indent, indentStep, options: { commentString, indentSeq, simpleKeys } } = ctx;
      let keyComment = identity.isNode(key) && key.comment || null;
      if (simpleKeys) {
        if (keyComment) {
          throw new Error("With simple keys, key nodes cannot have comments");
        }
        if (identity.isCollection(key) || !identity.isNode(key) && typeof key === "object") {
          const msg = "With simple keys, collection cannot be used as a key value";
          throw new Error(msg);
        }
      }
      let explicitKey = !simpleKeys && (!key || keyComment && value == null && !ctx.inFlow || identity.isCollection(key) || (identity.isScalar(key) ? key.type === Scalar.Scalar.BLOCK_FOLDED || key.type === Scalar.Scalar.BLOCK_LITERAL : typeof key === "object"));
      ctx = Object.assign({}, ctx, {
        allNullValues: false,
        implicitKey: !explicitKey && (simpleKeys || !allNullValues),
        indent: indent + indentStep
      });
      let keyCommentDone = false;
      let chompKeep = false;
      let str = stringify.stringify(key, ctx, () => keyCommentDone = true, () => chompKeep = true);
      if (!explicitKey && !ctx.inFlow && str.length > 1024) {
        if (simpleKeys)
          throw new Error("With simple keys, single line scalar must not span more than 1024 characters");
        explicitKey = true;
      }
      if (ctx.inFlow) {
        if (allNullValues || value == null) {
          if (keyCommentDone && onComment)
            onComment();
          return str === "" ? "?" : explicitKey ? `? ${str}` : str;
        }
      } else if (allNullValues && !simpleKeys || value == null && explicitKey) {
        str = `? ${str}`;
        if (keyComment && !keyCommentDone) {
          str += stringifyComment.lineComment(str, ctx.indent, commentString(keyComment));
        } else if (chompKeep && onChompKeep)
          onChompKeep();
        return str;
      }
      if (keyCommentDone)
        keyComment = null;
      if (explicitKey) {
        if (keyComment)
          str += stringifyComment.lineComment(str, ctx.indent, commentString(keyComment));
        str = `? ${str}
${indent}:`;
      } else {
        str = `${str}:`;
        if (keyComment)
          str += stringifyComment.lineComment(str, ctx.indent, commentString(keyComment));
      }
      let vsb, vcb, valueComment;
      if (identity.isNode(value)) {
        vsb = !!value.spaceBefore;
        vcb = value.commentBefore;
        valueComment = value.comment;
      } else {
        vsb = false;
        vcb = null;
        valueComment = null;
        if (value && typeof value === "object")
          value = doc.createNode(value);
      }
      ctx.implicitKey = false;
      if (!explicitKey && !keyComment && identity.isScalar(value))
        ctx.indentAtStart = str.length + 1;
      chompKeep = false;
      if (!indentSeq && indentStep.length >= 2 && !ctx.inFlow && !explicitKey && identity.isSeq(value) && !value.flow && !value.tag && !value.anchor) {
        ctx.indent = ctx.indent.substring(2);
      }
      let valueCommentDone = false;
      const valueStr = stringify.stringify(value, ctx, () => valueCommentDone = true, () => chompKeep = true);
      let ws = " ";
      if (keyComment || vsb || vcb) {
        ws = vsb ? "\n" : "";
        if (vcb) {
          const cs = commentString(vcb);
          ws += `
${stringifyComment.indentComment(cs, ctx.indent)}`;
        }
        if (valueStr === "" && !ctx.inFlow) {
          if (ws === "\n" && valueComment)
            ws = "\n\n";
        } else {
          ws += `
${ctx.indent}`;
        }
      } else if (!explicitKey && identity.isCollection(value)) {
        const vs0 = valueStr[0];
        const nl0 = valueStr.indexOf("\n");
        const hasNewline = nl0 !== -1;
        const flow = ctx.inFlow ?? value.flow ?? value.items.length === 0;
        if (hasNewline || !flow) {
          let hasPropsLine = false;
          if (hasNewline && (vs0 === "&" || vs0 === "!")) {
            let sp0 = valueStr.indexOf(" ");
            if (vs0 === "&" && sp0 !== -1 && sp0 < nl0 && valueStr[sp0 + 1] === "!") {
              sp0 = valueStr.indexOf(" ", sp0 + 1);
            }
            if (sp0 === -1 || nl0 < sp0)
              hasPropsLine = true;
          }
          if (!hasPropsLine)
            ws = `
${ctx.indent}`;
        }
      } else if (valueStr === "" || valueStr[0] === "\n") {
        ws = "";
      }
      str += ws + valueStr;
      if (ctx.inFlow) {
        if (valueCommentDone && onComment)
          onComment();
      } else if (valueComment && !valueCommentDone) {
        str += stringifyComment.lineComment(str, ctx.indent, commentString(valueComment));
      } else if (chompKeep && onChompKeep) {
        onChompKeep();
      }
      return str;
    }
    exports.stringifyPair = stringifyPair;
  }
});

// node_modules/yaml/dist/log.js
var require_log = __commonJS({
  "node_modules/yaml/dist/log.js"(exports) {
    "use strict";
    var node_process = __require("process");
    function debug(logLevel, ...messages) {
      if (logLevel === "debug")
        console.log(...messages);
    }
    function warn(logLevel, warning2) {
      if (logLevel === "debug" || logLevel === "warn") {
        if (typeof node_process.emitWarning === "function")
          node_process.emitWarning(warning2);
        else
          console.warn(warning2);
      }
    }
    exports.debug = debug;
    exports.warn = warn;
  }
});

// node_modules/yaml/dist/schema/yaml-1.1/merge.js
var require_merge = __commonJS({
  "node_modules/yaml/dist/schema/yaml-1.1/merge.js"(exports) {
    "use strict";
    var identity = require_identity();
    var Scalar = require_Scalar();
    var MERGE_KEY = "<<";
    var merge = {
      identify: (value) => value === MERGE_KEY || typeof value === "symbol" && value.description === MERGE_KEY,
      default: "key",
      tag: "tag:yaml.org,2002:merge",
      test: /^<<$/,
      resolve: () => Object.assign(new Scalar.Scalar(Symbol(MERGE_KEY)), {
        addToJSMap: addMergeToJSMap
      }),
      stringify: () => MERGE_KEY
    };
    var isMergeKey = (ctx, key) => (merge.identify(key) || identity.isScalar(key) && (!key.type || key.type === Scalar.Scalar.PLAIN) && merge.identify(key.value)) && ctx?.doc.schema.tags.some((tag) => tag.tag === merge.tag && tag.default);
    function addMergeToJSMap(ctx, map, value) {
      const source = resolveAliasValue(ctx, value);
      if (identity.isSeq(source))
        for (const it of source.items)
          mergeValue(ctx, map, it);
      else if (Array.isArray(source))
        for (const it of source)
          mergeValue(ctx, map, it);
      else
        mergeValue(ctx, map, source);
    }
    function mergeValue(ctx, map, value) {
      const source = resolveAliasValue(ctx, value);
      if (!identity.isMap(source))
        throw new Error("Merge sources must be maps or map aliases");
      const srcMap = source.toJSON(null, ctx, Map);
      for (const [key, value2] of srcMap) {
        if (map instanceof Map) {
          if (!map.has(key))
            map.set(key, value2);
        } else if (map instanceof Set) {
          map.add(key);
        } else if (!Object.prototype.hasOwnProperty.call(map, key)) {
          Object.defineProperty(map, key, {
            value: value2,
            writable: true,
            enumerable: true,
            configurable: true
          });
        }
      }
      return map;
    }
    function resolveAliasValue(ctx, value) {
      return ctx && identity.isAlias(value) ? value.resolve(ctx.doc, ctx) : value;
    }
    exports.addMergeToJSMap = addMergeToJSMap;
    exports.isMergeKey = isMergeKey;
    exports.merge = merge;
  }
});

// node_modules/yaml/dist/nodes/addPairToJSMap.js
var require_addPairToJSMap = __commonJS({
  "node_modules/yaml/dist/nodes/addPairToJSMap.js"(exports) {
    "use strict";
    var log = require_log();
    var merge = require_merge();
    var stringify = require_stringify();
    var identity = require_identity();
    var toJS = require_toJS();
    function addPairToJSMap(ctx, map, { key, value }) {
      if (identity.isNode(key) && key.addToJSMap)
        key.addToJSMap(ctx, map, value);
      else if (merge.isMergeKey(ctx, key))
        merge.addMergeToJSMap(ctx, map, value);
      else {
        const jsKey = toJS.toJS(key, "", ctx);
        if (map instanceof Map) {
          map.set(jsKey, toJS.toJS(value, jsKey, ctx));
        } else if (map instanceof Set) {
          map.add(jsKey);
        } else {
          const stringKey = stringifyKey(key, jsKey, ctx);
          const jsValue = toJS.toJS(value, stringKey, ctx);
          if (stringKey in map)
            Object.defineProperty(map, stringKey, {
              value: jsValue,
              writable: true,
              enumerable: true,
              configurable: true
            });
          else
            map[stringKey] = jsValue;
        }
      }
      return map;
    }
    function stringifyKey(key, jsKey, ctx) {
      if (jsKey === null)
        return "";
      if (typeof jsKey !== "object")
        return String(jsKey);
      if (identity.isNode(key) && ctx?.doc) {
        const strCtx = stringify.createStringifyContext(ctx.doc, {});
        strCtx.anchors = /* @__PURE__ */ new Set();
        for (const node of ctx.anchors.keys())
          strCtx.anchors.add(node.anchor);
        strCtx.inFlow = true;
        strCtx.inStringifyKey = true;
        const strKey = key.toString(strCtx);
        if (!ctx.mapKeyWarned) {
          let jsonStr = JSON.stringify(strKey);
          if (jsonStr.length > 40)
            jsonStr = jsonStr.substring(0, 36) + '..."';
          log.warn(ctx.doc.options.logLevel, `Keys with collection values will be stringified due to JS Object restrictions: ${jsonStr}. Set mapAsMap: true to use object keys.`);
          ctx.mapKeyWarned = true;
        }
        return strKey;
      }
      return JSON.stringify(jsKey);
    }
    exports.addPairToJSMap = addPairToJSMap;
  }
});

// node_modules/yaml/dist/nodes/Pair.js
var require_Pair = __commonJS({
  "node_modules/yaml/dist/nodes/Pair.js"(exports) {
    "use strict";
    var createNode = require_createNode();
    var stringifyPair = require_stringifyPair();
    var addPairToJSMap = require_addPairToJSMap();
    var identity = require_identity();
    function createPair(key, value, ctx) {
      const k = createNode.createNode(key, void 0, ctx);
      const v = createNode.createNode(value, void 0, ctx);
      return new Pair(k, v);
    }
    var Pair = class _Pair {
      constructor(key, value = null) {
        Object.defineProperty(this, identity.NODE_TYPE, { value: identity.PAIR });
        this.key = key;
        this.value = value;
      }
      clone(schema) {
        let { key, value } = this;
        if (identity.isNode(key))
          key = key.clone(schema);
        if (identity.isNode(value))
          value = value.clone(schema);
        return new _Pair(key, value);
      }
      toJSON(_, ctx) {
        const pair = ctx?.mapAsMap ? /* @__PURE__ */ new Map() : {};
        return addPairToJSMap.addPairToJSMap(ctx, pair, this);
      }
      toString(ctx, onComment, onChompKeep) {
        return ctx?.doc ? stringifyPair.stringifyPair(this, ctx, onComment, onChompKeep) : JSON.stringify(this);
      }
    };
    exports.Pair = Pair;
    exports.createPair = createPair;
  }
});

// node_modules/yaml/dist/stringify/stringifyCollection.js
var require_stringifyCollection = __commonJS({
  "node_modules/yaml/dist/stringify/stringifyCollection.js"(exports) {
    "use strict";
    var identity = require_identity();
    var stringify = require_stringify();
    var stringifyComment = require_stringifyComment();
    function stringifyCollection(collection, ctx, options) {
      const flow = ctx.inFlow ?? collection.flow;
      const stringify2 = flow ? stringifyFlowCollection : stringifyBlockCollection;
      return stringify2(collection, ctx, options);
    }
    function stringifyBlockCollection({ comment, items }, ctx, { blockItemPrefix, flowChars, itemIndent, onChompKeep, onComment }) {
      const { indent, options: { commentString } } = ctx;
      const itemCtx = Object.assign({}, ctx, { indent: itemIndent, type: null });
      let chompKeep = false;
      const lines = [];
      for (let i = 0; i < items.length; ++i) {
        const item = items[i];
        let comment2 = null;
        if (identity.isNode(item)) {
          if (!chompKeep && item.spaceBefore)
            lines.push("");
          addCommentBefore(ctx, lines, item.commentBefore, chompKeep);
          if (item.comment)
            comment2 = item.comment;
        } else if (identity.isPair(item)) {
          const ik = identity.isNode(item.key) ? item.key : null;
          if (ik) {
            if (!chompKeep && ik.spaceBefore)
              lines.push("");
            addCommentBefore(ctx, lines, ik.commentBefore, chompKeep);
          }
        }
        chompKeep = false;
        let str2 = stringify.stringify(item, itemCtx, () => comment2 = null, () => chompKeep = true);
        if (comment2)
          str2 += stringifyComment.lineComment(str2, itemIndent, commentString(comment2));
        if (chompKeep && comment2)
          chompKeep = false;
        lines.push(blockItemPrefix + str2);
      }
      let str;
      if (lines.length === 0) {
        str = flowChars.start + flowChars.end;
      } else {
        str = lines[0];
        for (let i = 1; i < lines.length; ++i) {
          const line = lines[i];
          str += line ? `
${indent}${line}` : "\n";
        }
      }
      if (comment) {
        str += "\n" + stringifyComment.indentComment(commentString(comment), indent);
        if (onComment)
          onComment();
      } else if (chompKeep && onChompKeep)
        onChompKeep();
      return str;
    }
    function stringifyFlowCollection({ items }, ctx, { flowChars, itemIndent }) {
      const { indent, indentStep, flowCollectionPadding: fcPadding, options: { commentString } } = ctx;
      itemIndent += indentStep;
      const itemCtx = Object.assign({}, ctx, {
        indent: itemIndent,
        inFlow: true,
        type: null
      });
      let reqNewline = false;
      let linesAtValue = 0;
      const lines = [];
      for (let i = 0; i < items.length; ++i) {
        const item = items[i];
        let comment = null;
        if (identity.isNode(item)) {
          if (item.spaceBefore)
            lines.push("");
          addCommentBefore(ctx, lines, item.commentBefore, false);
          if (item.comment)
            comment = item.comment;
        } else if (identity.isPair(item)) {
          const ik = identity.isNode(item.key) ? item.key : null;
          if (ik) {
            if (ik.spaceBefore)
              lines.push("");
            addCommentBefore(ctx, lines, ik.commentBefore, false);
            if (ik.comment)
              reqNewline = true;
          }
          const iv = identity.isNode(item.value) ? item.value : null;
          if (iv) {
            if (iv.comment)
              comment = iv.comment;
            if (iv.commentBefore)
              reqNewline = true;
          } else if (item.value == null && ik?.comment) {
            comment = ik.comment;
          }
        }
        if (comment)
          reqNewline = true;
        let str = stringify.stringify(item, itemCtx, () => comment = null);
        reqNewline || (reqNewline = lines.length > linesAtValue || str.includes("\n"));
        if (i < items.length - 1) {
          str += ",";
        } else if (ctx.options.trailingComma) {
          if (ctx.options.lineWidth > 0) {
            reqNewline || (reqNewline = lines.reduce((sum, line) => sum + line.length + 2, 2) + (str.length + 2) > ctx.options.lineWidth);
          }
          if (reqNewline) {
            str += ",";
          }
        }
        if (comment)
          str += stringifyComment.lineComment(str, itemIndent, commentString(comment));
        lines.push(str);
        linesAtValue = lines.length;
      }
      const { start, end } = flowChars;
      if (lines.length === 0) {
        return start + end;
      } else {
        if (!reqNewline) {
          const len = lines.reduce((sum, line) => sum + line.length + 2, 2);
          reqNewline = ctx.options.lineWidth > 0 && len > ctx.options.lineWidth;
        }
        if (reqNewline) {
          let str = start;
          for (const line of lines)
            str += line ? `
${indentStep}${indent}${line}` : "\n";
          return `${str}
${indent}${end}`;
        } else {
          return `${start}${fcPadding}${lines.join(" ")}${fcPadding}${end}`;
        }
      }
    }
    function addCommentBefore({ indent, options: { commentString } }, lines, comment, chompKeep) {
      if (comment && chompKeep)
        comment = comment.replace(/^\n+/, "");
      if (comment) {
        const ic = stringifyComment.indentComment(commentString(comment), indent);
        lines.push(ic.trimStart());
      }
    }
    exports.stringifyCollection = stringifyCollection;
  }
});

// node_modules/yaml/dist/nodes/YAMLMap.js
var require_YAMLMap = __commonJS({
  "node_modules/yaml/dist/nodes/YAMLMap.js"(exports) {
    "use strict";
    var stringifyCollection = require_stringifyCollection();
    var addPairToJSMap = require_addPairToJSMap();
    var Collection = require_Collection();
    var identity = require_identity();
    var Pair = require_Pair();
    var Scalar = require_Scalar();
    function findPair(items, key) {
      const k = identity.isScalar(key) ? key.value : key;
      for (const it of items) {
        if (identity.isPair(it)) {
          if (it.key === key || it.key === k)
            return it;
          if (identity.isScalar(it.key) && it.key.value === k)
            return it;
        }
      }
      return void 0;
    }
    var YAMLMap = class extends Collection.Collection {
      static get tagName() {
        return "tag:yaml.org,2002:map";
      }
      constructor(schema) {
        super(identity.MAP, schema);
        this.items = [];
      }
      /**
       * A generic collection parsing method that can be extended
       * to other node classes that inherit from YAMLMap
       */
      static from(schema, obj, ctx) {
        const { keepUndefined, replacer } = ctx;
        const map = new this(schema);
        const add = (key, value) => {
          if (typeof replacer === "function")
            value = replacer.call(obj, key, value);
          else if (Array.isArray(replacer) && !replacer.includes(key))
            return;
          if (value !== void 0 || keepUndefined)
            map.items.push(Pair.createPair(key, value, ctx));
        };
        if (obj instanceof Map) {
          for (const [key, value] of obj)
            add(key, value);
        } else if (obj && typeof obj === "object") {
          for (const key of Object.keys(obj))
            add(key, obj[key]);
        }
        if (typeof schema.sortMapEntries === "function") {
          map.items.sort(schema.sortMapEntries);
        }
        return map;
      }
      /**
       * Adds a value to the collection.
       *
       * @param overwrite - If not set `true`, using a key that is already in the
       *   collection will throw. Otherwise, overwrites the previous value.
       */
      add(pair, overwrite) {
        let _pair;
        if (identity.isPair(pair))
          _pair = pair;
        else if (!pair || typeof pair !== "object" || !("key" in pair)) {
          _pair = new Pair.Pair(pair, pair?.value);
        } else
          _pair = new Pair.Pair(pair.key, pair.value);
        const prev = findPair(this.items, _pair.key);
        const sortEntries = this.schema?.sortMapEntries;
        if (prev) {
          if (!overwrite)
            throw new Error(`Key ${_pair.key} already set`);
          if (identity.isScalar(prev.value) && Scalar.isScalarValue(_pair.value))
            prev.value.value = _pair.value;
          else
            prev.value = _pair.value;
        } else if (sortEntries) {
          const i = this.items.findIndex((item) => sortEntries(_pair, item) < 0);
          if (i === -1)
            this.items.push(_pair);
          else
            this.items.splice(i, 0, _pair);
        } else {
          this.items.push(_pair);
        }
      }
      delete(key) {
        const it = findPair(this.items, key);
        if (!it)
          return false;
        const del = this.items.splice(this.items.indexOf(it), 1);
        return del.length > 0;
      }
      get(key, keepScalar) {
        const it = findPair(this.items, key);
        const node = it?.value;
        return (!keepScalar && identity.isScalar(node) ? node.value : node) ?? void 0;
      }
      has(key) {
        return !!findPair(this.items, key);
      }
      set(key, value) {
        this.add(new Pair.Pair(key, value), true);
      }
      /**
       * @param ctx - Conversion context, originally set in Document#toJS()
       * @param {Class} Type - If set, forces the returned collection type
       * @returns Instance of Type, Map, or Object
       */
      toJSON(_, ctx, Type) {
        const map = Type ? new Type() : ctx?.mapAsMap ? /* @__PURE__ */ new Map() : {};
        if (ctx?.onCreate)
          ctx.onCreate(map);
        for (const item of this.items)
          addPairToJSMap.addPairToJSMap(ctx, map, item);
        return map;
      }
      toString(ctx, onComment, onChompKeep) {
        if (!ctx)
          return JSON.stringify(this);
        for (const item of this.items) {
          if (!identity.isPair(item))
            throw new Error(`Map items must all be pairs; found ${JSON.stringify(item)} instead`);
        }
        if (!ctx.allNullValues && this.hasAllNullValues(false))
          ctx = Object.assign({}, ctx, { allNullValues: true });
        return stringifyCollection.stringifyCollection(this, ctx, {
          blockItemPrefix: "",
          flowChars: { start: "{", end: "}" },
          itemIndent: ctx.indent || "",
          onChompKeep,
          onComment
        });
      }
    };
    exports.YAMLMap = YAMLMap;
    exports.findPair = findPair;
  }
});

// node_modules/yaml/dist/schema/common/map.js
var require_map = __commonJS({
  "node_modules/yaml/dist/schema/common/map.js"(exports) {
    "use strict";
    var identity = require_identity();
    var YAMLMap = require_YAMLMap();
    var map = {
      collection: "map",
      default: true,
      nodeClass: YAMLMap.YAMLMap,
      tag: "tag:yaml.org,2002:map",
      resolve(map2, onError) {
        if (!identity.isMap(map2))
          onError("Expected a mapping for this tag");
        return map2;
      },
      createNode: (schema, obj, ctx) => YAMLMap.YAMLMap.from(schema, obj, ctx)
    };
    exports.map = map;
  }
});

// node_modules/yaml/dist/nodes/YAMLSeq.js
var require_YAMLSeq = __commonJS({
  "node_modules/yaml/dist/nodes/YAMLSeq.js"(exports) {
    "use strict";
    var createNode = require_createNode();
    var stringifyCollection = require_stringifyCollection();
    var Collection = require_Collection();
    var identity = require_identity();
    var Scalar = require_Scalar();
    var toJS = require_toJS();
    var YAMLSeq = class extends Collection.Collection {
      static get tagName() {
        return "tag:yaml.org,2002:seq";
      }
      constructor(schema) {
        super(identity.SEQ, schema);
        this.items = [];
      }
      add(value) {
        this.items.push(value);
      }
      /**
       * Removes a value from the collection.
       *
       * `key` must contain a representation of an integer for this to succeed.
       * It may be wrapped in a `Scalar`.
       *
       * @returns `true` if the item was found and removed.
       */
      delete(key) {
        const idx = asItemIndex(key);
        if (typeof idx !== "number")
          return false;
        const del = this.items.splice(idx, 1);
        return del.length > 0;
      }
      get(key, keepScalar) {
        const idx = asItemIndex(key);
        if (typeof idx !== "number")
          return void 0;
        const it = this.items[idx];
        return !keepScalar && identity.isScalar(it) ? it.value : it;
      }
      /**
       * Checks if the collection includes a value with the key `key`.
       *
       * `key` must contain a representation of an integer for this to succeed.
       * It may be wrapped in a `Scalar`.
       */
      has(key) {
        const idx = asItemIndex(key);
        return typeof idx === "number" && idx < this.items.length;
      }
      /**
       * Sets a value in this collection. For `!!set`, `value` needs to be a
       * boolean to add/remove the item from the set.
       *
       * If `key` does not contain a representation of an integer, this will throw.
       * It may be wrapped in a `Scalar`.
       */
      set(key, value) {
        const idx = asItemIndex(key);
        if (typeof idx !== "number")
          throw new Error(`Expected a valid index, not ${key}.`);
        const prev = this.items[idx];
        if (identity.isScalar(prev) && Scalar.isScalarValue(value))
          prev.value = value;
        else
          this.items[idx] = value;
      }
      toJSON(_, ctx) {
        const seq = [];
        if (ctx?.onCreate)
          ctx.onCreate(seq);
        let i = 0;
        for (const item of this.items)
          seq.push(toJS.toJS(item, String(i++), ctx));
        return seq;
      }
      toString(ctx, onComment, onChompKeep) {
        if (!ctx)
          return JSON.stringify(this);
        return stringifyCollection.stringifyCollection(this, ctx, {
          blockItemPrefix: "- ",
          flowChars: { start: "[", end: "]" },
          itemIndent: (ctx.indent || "") + "  ",
          onChompKeep,
          onComment
        });
      }
      static from(schema, obj, ctx) {
        const { replacer } = ctx;
        const seq = new this(schema);
        if (obj && Symbol.iterator in Object(obj)) {
          let i = 0;
          for (let it of obj) {
            if (typeof replacer === "function") {
              const key = obj instanceof Set ? it : String(i++);
              it = replacer.call(obj, key, it);
            }
            seq.items.push(createNode.createNode(it, void 0, ctx));
          }
        }
        return seq;
      }
    };
    function asItemIndex(key) {
      let idx = identity.isScalar(key) ? key.value : key;
      if (idx && typeof idx === "string")
        idx = Number(idx);
      return typeof idx === "number" && Number.isInteger(idx) && idx >= 0 ? idx : null;
    }
    exports.YAMLSeq = YAMLSeq;
  }
});

// node_modules/yaml/dist/schema/common/seq.js
var require_seq = __commonJS({
  "node_modules/yaml/dist/schema/common/seq.js"(exports) {
    "use strict";
    var identity = require_identity();
    var YAMLSeq = require_YAMLSeq();
    var seq = {
      collection: "seq",
      default: true,
      nodeClass: YAMLSeq.YAMLSeq,
      tag: "tag:yaml.org,2002:seq",
      resolve(seq2, onError) {
        if (!identity.isSeq(seq2))
          onError("Expected a sequence for this tag");
        return seq2;
      },
      createNode: (schema, obj, ctx) => YAMLSeq.YAMLSeq.from(schema, obj, ctx)
    };
    exports.seq = seq;
  }
});

// node_modules/yaml/dist/schema/common/string.js
var require_string = __commonJS({
  "node_modules/yaml/dist/schema/common/string.js"(exports) {
    "use strict";
    var stringifyString = require_stringifyString();
    var string = {
      identify: (value) => typeof value === "string",
      default: true,
      tag: "tag:yaml.org,2002:str",
      resolve: (str) => str,
      stringify(item, ctx, onComment, onChompKeep) {
        ctx = Object.assign({ actualString: true }, ctx);
        return stringifyString.stringifyString(item, ctx, onComment, onChompKeep);
      }
    };
    exports.string = string;
  }
});

// node_modules/yaml/dist/schema/common/null.js
var require_null = __commonJS({
  "node_modules/yaml/dist/schema/common/null.js"(exports) {
    "use strict";
    var Scalar = require_Scalar();
    var nullTag = {
      identify: (value) => value == null,
      createNode: () => new Scalar.Scalar(null),
      default: true,
      tag: "tag:yaml.org,2002:null",
      test: /^(?:~|[Nn]ull|NULL)?$/,
      resolve: () => new Scalar.Scalar(null),
      stringify: ({ source }, ctx) => typeof source === "string" && nullTag.test.test(source) ? source : ctx.options.nullStr
    };
    exports.nullTag = nullTag;
  }
});

// node_modules/yaml/dist/schema/core/bool.js
var require_bool = __commonJS({
  "node_modules/yaml/dist/schema/core/bool.js"(exports) {
    "use strict";
    var Scalar = require_Scalar();
    var boolTag = {
      identify: (value) => typeof value === "boolean",
      default: true,
      tag: "tag:yaml.org,2002:bool",
      test: /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
      resolve: (str) => new Scalar.Scalar(str[0] === "t" || str[0] === "T"),
      stringify({ source, value }, ctx) {
        if (source && boolTag.test.test(source)) {
          const sv = source[0] === "t" || source[0] === "T";
          if (value === sv)
            return source;
        }
        return value ? ctx.options.trueStr : ctx.options.falseStr;
      }
    };
    exports.boolTag = boolTag;
  }
});

// node_modules/yaml/dist/stringify/stringifyNumber.js
var require_stringifyNumber = __commonJS({
  "node_modules/yaml/dist/stringify/stringifyNumber.js"(exports) {
    "use strict";
    function stringifyNumber({ format, minFractionDigits, tag, value }) {
      if (typeof value === "bigint")
        return String(value);
      const num = typeof value === "number" ? value : Number(value);
      if (!isFinite(num))
        return isNaN(num) ? ".nan" : num < 0 ? "-.inf" : ".inf";
      let n = Object.is(value, -0) ? "-0" : JSON.stringify(value);
      if (!format && minFractionDigits && (!tag || tag === "tag:yaml.org,2002:float") && /^-?\d/.test(n) && !n.includes("e")) {
        let i = n.indexOf(".");
        if (i < 0) {
          i = n.length;
          n += ".";
        }
        let d = minFractionDigits - (n.length - i - 1);
        while (d-- > 0)
          n += "0";
      }
      return n;
    }
    exports.stringifyNumber = stringifyNumber;
  }
});

// node_modules/yaml/dist/schema/core/float.js
var require_float = __commonJS({
  "node_modules/yaml/dist/schema/core/float.js"(exports) {
    "use strict";
    var Scalar = require_Scalar();
    var stringifyNumber = require_stringifyNumber();
    var floatNaN = {
      identify: (value) => typeof value === "number",
      default: true,
      tag: "tag:yaml.org,2002:float",
      test: /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
      resolve: (str) => str.slice(-3).toLowerCase() === "nan" ? NaN : str[0] === "-" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY,
      stringify: stringifyNumber.stringifyNumber
    };
    var floatExp = {
      identify: (value) => typeof value === "number",
      default: true,
      tag: "tag:yaml.org,2002:float",
      format: "EXP",
      test: /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
      resolve: (str) => parseFloat(str),
      stringify(node) {
        const num = Number(node.value);
        return isFinite(num) ? num.toExponential() : stringifyNumber.stringifyNumber(node);
      }
    };
    var float = {
      identify: (value) => typeof value === "number",
      default: true,
      tag: "tag:yaml.org,2002:float",
      test: /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
      resolve(str) {
        const node = new Scalar.Scalar(parseFloat(str));
        const dot = str.indexOf(".");
        if (dot !== -1 && str[str.length - 1] === "0")
          node.minFractionDigits = str.length - dot - 1;
        return node;
      },
      stringify: stringifyNumber.stringifyNumber
    };
    exports.float = float;
    exports.floatExp = floatExp;
    exports.floatNaN = floatNaN;
  }
});

// node_modules/yaml/dist/schema/core/int.js
var require_int = __commonJS({
  "node_modules/yaml/dist/schema/core/int.js"(exports) {
    "use strict";
    var stringifyNumber = require_stringifyNumber();
    var intIdentify = (value) => typeof value === "bigint" || Number.isInteger(value);
    var intResolve = (str, offset, radix, { intAsBigInt }) => intAsBigInt ? BigInt(str) : parseInt(str.substring(offset), radix);
    function intStringify(node, radix, prefix) {
      const { value } = node;
      if (intIdentify(value) && value >= 0)
        return prefix + value.toString(radix);
      return stringifyNumber.stringifyNumber(node);
    }
    var intOct = {
      identify: (value) => intIdentify(value) && value >= 0,
      default: true,
      tag: "tag:yaml.org,2002:int",
      format: "OCT",
      test: /^0o[0-7]+$/,
      resolve: (str, _onError, opt) => intResolve(str, 2, 8, opt),
      stringify: (node) => intStringify(node, 8, "0o")
    };
    var int2 = {
      identify: intIdentify,
      default: true,
      tag: "tag:yaml.org,2002:int",
      test: /^[-+]?[0-9]+$/,
      resolve: (str, _onError, opt) => intResolve(str, 0, 10, opt),
      stringify: stringifyNumber.stringifyNumber
    };
    var intHex = {
      identify: (value) => intIdentify(value) && value >= 0,
      default: true,
      tag: "tag:yaml.org,2002:int",
      format: "HEX",
      test: /^0x[0-9a-fA-F]+$/,
      resolve: (str, _onError, opt) => intResolve(str, 2, 16, opt),
      stringify: (node) => intStringify(node, 16, "0x")
    };
    exports.int = int2;
    exports.intHex = intHex;
    exports.intOct = intOct;
  }
});

// node_modules/yaml/dist/schema/core/schema.js
var require_schema = __commonJS({
  "node_modules/yaml/dist/schema/core/schema.js"(exports) {
    "use strict";
    var map = require_map();
    var _null = require_null();
    var seq = require_seq();
    var string = require_string();
    var bool = require_bool();
    var float = require_float();
    var int2 = require_int();
    var schema = [
      map.map,
      seq.seq,
      string.string,
      _null.nullTag,
      bool.boolTag,
      int2.intOct,
      int2.int,
      int2.intHex,
      float.floatNaN,
      float.floatExp,
      float.float
    ];
    exports.schema = schema;
  }
});

// node_modules/yaml/dist/schema/json/schema.js
var require_schema2 = __commonJS({
  "node_modules/yaml/dist/schema/json/schema.js"(exports) {
    "use strict";
    var Scalar = require_Scalar();
    var map = require_map();
    var seq = require_seq();
    function intIdentify(value) {
      return typeof value === "bigint" || Number.isInteger(value);
    }
    var stringifyJSON = ({ value }) => JSON.stringify(value);
    var jsonScalars = [
      {
        identify: (value) => typeof value === "string",
        default: true,
        tag: "tag:yaml.org,2002:str",
        resolve: (str) => str,
        stringify: stringifyJSON
      },
      {
        identify: (value) => value == null,
        createNode: () => new Scalar.Scalar(null),
        default: true,
        tag: "tag:yaml.org,2002:null",
        test: /^null$/,
        resolve: () => null,
        stringify: stringifyJSON
      },
      {
        identify: (value) => typeof value === "boolean",
        default: true,
        tag: "tag:yaml.org,2002:bool",
        test: /^true$|^false$/,
        resolve: (str) => str === "true",
        stringify: stringifyJSON
      },
      {
        identify: intIdentify,
        default: true,
        tag: "tag:yaml.org,2002:int",
        test: /^-?(?:0|[1-9][0-9]*)$/,
        resolve: (str, _onError, { intAsBigInt }) => intAsBigInt ? BigInt(str) : parseInt(str, 10),
        stringify: ({ value }) => intIdentify(value) ? value.toString() : JSON.stringify(value)
      },
      {
        identify: (value) => typeof value === "number",
        default: true,
        tag: "tag:yaml.org,2002:float",
        test: /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?$/,
        resolve: (str) => parseFloat(str),
        stringify: stringifyJSON
      }
    ];
    var jsonError = {
      default: true,
      tag: "",
      test: /^/,
      resolve(str, onError) {
        onError(`Unresolved plain scalar ${JSON.stringify(str)}`);
        return str;
      }
    };
    var schema = [map.map, seq.seq].concat(jsonScalars, jsonError);
    exports.schema = schema;
  }
});

// node_modules/yaml/dist/schema/yaml-1.1/binary.js
var require_binary = __commonJS({
  "node_modules/yaml/dist/schema/yaml-1.1/binary.js"(exports) {
    "use strict";
    var node_buffer = __require("buffer");
    var Scalar = require_Scalar();
    var stringifyString = require_stringifyString();
    var binary = {
      identify: (value) => value instanceof Uint8Array,
      // Buffer inherits from Uint8Array
      default: false,
      tag: "tag:yaml.org,2002:binary",
      /**
       * Returns a Buffer in node and an Uint8Array in browsers
       *
       * To use the resulting buffer as an image, you'll want to do something like:
       *
       *   const blob = new Blob([buffer], { type: 'image/jpeg' })
       *   document.querySelector('#photo').src = URL.createObjectURL(blob)
       */
      resolve(src, onError) {
        if (typeof node_buffer.Buffer === "function") {
          return node_buffer.Buffer.from(src, "base64");
        } else if (typeof atob === "function") {
          const str = atob(src.replace(/[\n\r]/g, ""));
          const buffer = new Uint8Array(str.length);
          for (let i = 0; i < str.length; ++i)
            buffer[i] = str.charCodeAt(i);
          return buffer;
        } else {
          onError("This environment does not support reading binary tags; either Buffer or atob is required");
          return src;
        }
      },
      stringify({ comment, type, value }, ctx, onComment, onChompKeep) {
        if (!value)
          return "";
        const buf = value;
        let str;
        if (typeof node_buffer.Buffer === "function") {
          str = buf instanceof node_buffer.Buffer ? buf.toString("base64") : node_buffer.Buffer.from(buf.buffer).toString("base64");
        } else if (typeof btoa === "function") {
          let s = "";
          for (let i = 0; i < buf.length; ++i)
            s += String.fromCharCode(buf[i]);
          str = btoa(s);
        } else {
          throw new Error("This environment does not support writing binary tags; either Buffer or btoa is required");
        }
        type ?? (type = Scalar.Scalar.BLOCK_LITERAL);
        if (type !== Scalar.Scalar.QUOTE_DOUBLE) {
          const lineWidth = Math.max(ctx.options.lineWidth - ctx.indent.length, ctx.options.minContentWidth);
          const n = Math.ceil(str.length / lineWidth);
          const lines = new Array(n);
          for (let i = 0, o = 0; i < n; ++i, o += lineWidth) {
            lines[i] = str.substr(o, lineWidth);
          }
          str = lines.join(type === Scalar.Scalar.BLOCK_LITERAL ? "\n" : " ");
        }
        return stringifyString.stringifyString({ comment, type, value: str }, ctx, onComment, onChompKeep);
      }
    };
    exports.binary = binary;
  }
});

// node_modules/yaml/dist/schema/yaml-1.1/pairs.js
var require_pairs = __commonJS({
  "node_modules/yaml/dist/schema/yaml-1.1/pairs.js"(exports) {
    "use strict";
    var identity = require_identity();
    var Pair = require_Pair();
    var Scalar = require_Scalar();
    var YAMLSeq = require_YAMLSeq();
    function resolvePairs(seq, onError) {
      if (identity.isSeq(seq)) {
        for (let i = 0; i < seq.items.length; ++i) {
          let item = seq.items[i];
          if (identity.isPair(item))
            continue;
          else if (identity.isMap(item)) {
            if (item.items.length > 1)
              onError("Each pair must have its own sequence indicator");
            const pair = item.items[0] || new Pair.Pair(new Scalar.Scalar(null));
            if (item.commentBefore)
              pair.key.commentBefore = pair.key.commentBefore ? `${item.commentBefore}
${pair.key.commentBefore}` : item.commentBefore;
            if (item.comment) {
              const cn = pair.value ?? pair.key;
              cn.comment = cn.comment ? `${item.comment}
${cn.comment}` : item.comment;
            }
            item = pair;
          }
          seq.items[i] = identity.isPair(item) ? item : new Pair.Pair(item);
        }
      } else
        onError("Expected a sequence for this tag");
      return seq;
    }
    function createPairs(schema, iterable, ctx) {
      const { replacer } = ctx;
      const pairs2 = new YAMLSeq.YAMLSeq(schema);
      pairs2.tag = "tag:yaml.org,2002:pairs";
      let i = 0;
      if (iterable && Symbol.iterator in Object(iterable))
        for (let it of iterable) {
          if (typeof replacer === "function")
            it = replacer.call(iterable, String(i++), it);
          let key, value;
          if (Array.isArray(it)) {
            if (it.length === 2) {
              key = it[0];
              value = it[1];
            } else
              throw new TypeError(`Expected [key, value] tuple: ${it}`);
          } else if (it && it instanceof Object) {
            const keys = Object.keys(it);
            if (keys.length === 1) {
              key = keys[0];
              value = it[key];
            } else {
              throw new TypeError(`Expected tuple with one key, not ${keys.length} keys`);
            }
          } else {
            key = it;
          }
          pairs2.items.push(Pair.createPair(key, value, ctx));
        }
      return pairs2;
    }
    var pairs = {
      collection: "seq",
      default: false,
      tag: "tag:yaml.org,2002:pairs",
      resolve: resolvePairs,
      createNode: createPairs
    };
    exports.createPairs = createPairs;
    exports.pairs = pairs;
    exports.resolvePairs = resolvePairs;
  }
});

// node_modules/yaml/dist/schema/yaml-1.1/omap.js
var require_omap = __commonJS({
  "node_modules/yaml/dist/schema/yaml-1.1/omap.js"(exports) {
    "use strict";
    var identity = require_identity();
    var toJS = require_toJS();
    var YAMLMap = require_YAMLMap();
    var YAMLSeq = require_YAMLSeq();
    var pairs = require_pairs();
    var YAMLOMap = class _YAMLOMap extends YAMLSeq.YAMLSeq {
      constructor() {
        super();
        this.add = YAMLMap.YAMLMap.prototype.add.bind(this);
        this.delete = YAMLMap.YAMLMap.prototype.delete.bind(this);
        this.get = YAMLMap.YAMLMap.prototype.get.bind(this);
        this.has = YAMLMap.YAMLMap.prototype.has.bind(this);
        this.set = YAMLMap.YAMLMap.prototype.set.bind(this);
        this.tag = _YAMLOMap.tag;
      }
      /**
       * If `ctx` is given, the return type is actually `Map<unknown, unknown>`,
       * but TypeScript won't allow widening the signature of a child method.
       */
      toJSON(_, ctx) {
        if (!ctx)
          return super.toJSON(_);
        const map = /* @__PURE__ */ new Map();
        if (ctx?.onCreate)
          ctx.onCreate(map);
        for (const pair of this.items) {
          let key, value;
          if (identity.isPair(pair)) {
            key = toJS.toJS(pair.key, "", ctx);
            value = toJS.toJS(pair.value, key, ctx);
          } else {
            key = toJS.toJS(pair, "", ctx);
          }
          if (map.has(key))
            throw new Error("Ordered maps must not include duplicate keys");
          map.set(key, value);
        }
        return map;
      }
      static from(schema, iterable, ctx) {
        const pairs$1 = pairs.createPairs(schema, iterable, ctx);
        const omap2 = new this();
        omap2.items = pairs$1.items;
        return omap2;
      }
    };
    YAMLOMap.tag = "tag:yaml.org,2002:omap";
    var omap = {
      collection: "seq",
      identify: (value) => value instanceof Map,
      nodeClass: YAMLOMap,
      default: false,
      tag: "tag:yaml.org,2002:omap",
      resolve(seq, onError) {
        const pairs$1 = pairs.resolvePairs(seq, onError);
        const seenKeys = [];
        for (const { key } of pairs$1.items) {
          if (identity.isScalar(key)) {
            if (seenKeys.includes(key.value)) {
              onError(`Ordered maps must not include duplicate keys: ${key.value}`);
            } else {
              seenKeys.push(key.value);
            }
          }
        }
        return Object.assign(new YAMLOMap(), pairs$1);
      },
      createNode: (schema, iterable, ctx) => YAMLOMap.from(schema, iterable, ctx)
    };
    exports.YAMLOMap = YAMLOMap;
    exports.omap = omap;
  }
});

// node_modules/yaml/dist/schema/yaml-1.1/bool.js
var require_bool2 = __commonJS({
  "node_modules/yaml/dist/schema/yaml-1.1/bool.js"(exports) {
    "use strict";
    var Scalar = require_Scalar();
    function boolStringify({ value, source }, ctx) {
      const boolObj = value ? trueTag : falseTag;
      if (source && boolObj.test.test(source))
        return source;
      return value ? ctx.options.trueStr : ctx.options.falseStr;
    }
    var trueTag = {
      identify: (value) => value === true,
      default: true,
      tag: "tag:yaml.org,2002:bool",
      test: /^(?:Y|y|[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/,
      resolve: () => new Scalar.Scalar(true),
      stringify: boolStringify
    };
    var falseTag = {
      identify: (value) => value === false,
      default: true,
      tag: "tag:yaml.org,2002:bool",
      test: /^(?:N|n|[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/,
      resolve: () => new Scalar.Scalar(false),
      stringify: boolStringify
    };
    exports.falseTag = falseTag;
    exports.trueTag = trueTag;
  }
});

// node_modules/yaml/dist/schema/yaml-1.1/float.js
var require_float2 = __commonJS({
  "node_modules/yaml/dist/schema/yaml-1.1/float.js"(exports) {
    "use strict";
    var Scalar = require_Scalar();
    var stringifyNumber = require_stringifyNumber();
    var floatNaN = {
      identify: (value) => typeof value === "number",
      default: true,
      tag: "tag:yaml.org,2002:float",
      test: /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
      resolve: (str) => str.slice(-3).toLowerCase() === "nan" ? NaN : str[0] === "-" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY,
      stringify: stringifyNumber.stringifyNumber
    };
    var floatExp = {
      identify: (value) => typeof value === "number",
      default: true,
      tag: "tag:yaml.org,2002:float",
      format: "EXP",
      test: /^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$/,
      resolve: (str) => parseFloat(str.replace(/_/g, "")),
      stringify(node) {
        const num = Number(node.value);
        return isFinite(num) ? num.toExponential() : stringifyNumber.stringifyNumber(node);
      }
    };
    var float = {
      identify: (value) => typeof value === "number",
      default: true,
      tag: "tag:yaml.org,2002:float",
      test: /^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*$/,
      resolve(str) {
        const node = new Scalar.Scalar(parseFloat(str.replace(/_/g, "")));
        const dot = str.indexOf(".");
        if (dot !== -1) {
          const f = str.substring(dot + 1).replace(/_/g, "");
          if (f[f.length - 1] === "0")
            node.minFractionDigits = f.length;
        }
        return node;
      },
      stringify: stringifyNumber.stringifyNumber
    };
    exports.float = float;
    exports.floatExp = floatExp;
    exports.floatNaN = floatNaN;
  }
});

// node_modules/yaml/dist/schema/yaml-1.1/int.js
var require_int2 = __commonJS({
  "node_modules/yaml/dist/schema/yaml-1.1/int.js"(exports) {
    "use strict";
    var stringifyNumber = require_stringifyNumber();
    var intIdentify = (value) => typeof value === "bigint" || Number.isInteger(value);
    function intResolve(str, offset, radix, { intAsBigInt }) {
      const sign = str[0];
      if (sign === "-" || sign === "+")
        offset += 1;
      str = str.substring(offset).replace(/_/g, "");
      if (intAsBigInt) {
        switch (radix) {
          case 2:
            str = `0b${str}`;
            break;
          case 8:
            str = `0o${str}`;
            break;
          case 16:
            str = `0x${str}`;
            break;
        }
        const n2 = BigInt(str);
        return sign === "-" ? BigInt(-1) * n2 : n2;
      }
      const n = parseInt(str, radix);
      return sign === "-" ? -1 * n : n;
    }
    function intStringify(node, radix, prefix) {
      const { value } = node;
      if (intIdentify(value)) {
        const str = value.toString(radix);
        return value < 0 ? "-" + prefix + str.substr(1) : prefix + str;
      }
      return stringifyNumber.stringifyNumber(node);
    }
    var intBin = {
      identify: intIdentify,
      default: true,
      tag: "tag:yaml.org,2002:int",
      format: "BIN",
      test: /^[-+]?0b[0-1_]+$/,
      resolve: (str, _onError, opt) => intResolve(str, 2, 2, opt),
      stringify: (node) => intStringify(node, 2, "0b")
    };
    var intOct = {
      identify: intIdentify,
      default: true,
      tag: "tag:yaml.org,2002:int",
      format: "OCT",
      test: /^[-+]?0[0-7_]+$/,
      resolve: (str, _onError, opt) => intResolve(str, 1, 8, opt),
      stringify: (node) => intStringify(node, 8, "0")
    };
    var int2 = {
      identify: intIdentify,
      default: true,
      tag: "tag:yaml.org,2002:int",
      test: /^[-+]?[0-9][0-9_]*$/,
      resolve: (str, _onError, opt) => intResolve(str, 0, 10, opt),
      stringify: stringifyNumber.stringifyNumber
    };
    var intHex = {
      identify: intIdentify,
      default: true,
      tag: "tag:yaml.org,2002:int",
      format: "HEX",
      test: /^[-+]?0x[0-9a-fA-F_]+$/,
      resolve: (str, _onError, opt) => intResolve(str, 2, 16, opt),
      stringify: (node) => intStringify(node, 16, "0x")
    };
    exports.int = int2;
    exports.intBin = intBin;
    exports.intHex = intHex;
    exports.intOct = intOct;
  }
});

// node_modules/yaml/dist/schema/yaml-1.1/set.js
var require_set = __commonJS({
  "node_modules/yaml/dist/schema/yaml-1.1/set.js"(exports) {
    "use strict";
    var identity = require_identity();
    var Pair = require_Pair();
    var YAMLMap = require_YAMLMap();
    var YAMLSet = class _YAMLSet extends YAMLMap.YAMLMap {
      constructor(schema) {
        super(schema);
        this.tag = _YAMLSet.tag;
      }
      add(key) {
        let pair;
        if (identity.isPair(key))
          pair = key;
        else if (key && typeof key === "object" && "key" in key && "value" in key && key.value === null)
          pair = new Pair.Pair(key.key, null);
        else
          pair = new Pair.Pair(key, null);
        const prev = YAMLMap.findPair(this.items, pair.key);
        if (!prev)
          this.items.push(pair);
      }
      /**
       * If `keepPair` is `true`, returns the Pair matching `key`.
       * Otherwise, returns the value of that Pair's key.
       */
      get(key, keepPair) {
        const pair = YAMLMap.findPair(this.items, key);
        return !keepPair && identity.isPair(pair) ? identity.isScalar(pair.key) ? pair.key.value : pair.key : pair;
      }
      set(key, value) {
        if (typeof value !== "boolean")
          throw new Error(`Expected boolean value for set(key, value) in a YAML set, not ${typeof value}`);
        const prev = YAMLMap.findPair(this.items, key);
        if (prev && !value) {
          this.items.splice(this.items.indexOf(prev), 1);
        } else if (!prev && value) {
          this.items.push(new Pair.Pair(key));
        }
      }
      toJSON(_, ctx) {
        return super.toJSON(_, ctx, Set);
      }
      toString(ctx, onComment, onChompKeep) {
        if (!ctx)
          return JSON.stringify(this);
        if (this.hasAllNullValues(true))
          return super.toString(Object.assign({}, ctx, { allNullValues: true }), onComment, onChompKeep);
        else
          throw new Error("Set items must all have null values");
      }
      static from(schema, iterable, ctx) {
        const { replacer } = ctx;
        const set2 = new this(schema);
        if (iterable && Symbol.iterator in Object(iterable))
          for (let value of iterable) {
            if (typeof replacer === "function")
              value = replacer.call(iterable, value, value);
            set2.items.push(Pair.createPair(value, null, ctx));
          }
        return set2;
      }
    };
    YAMLSet.tag = "tag:yaml.org,2002:set";
    var set = {
      collection: "map",
      identify: (value) => value instanceof Set,
      nodeClass: YAMLSet,
      default: false,
      tag: "tag:yaml.org,2002:set",
      createNode: (schema, iterable, ctx) => YAMLSet.from(schema, iterable, ctx),
      resolve(map, onError) {
        if (identity.isMap(map)) {
          if (map.hasAllNullValues(true))
            return Object.assign(new YAMLSet(), map);
          else
            onError("Set items must all have null values");
        } else
          onError("Expected a mapping for this tag");
        return map;
      }
    };
    exports.YAMLSet = YAMLSet;
    exports.set = set;
  }
});

// node_modules/yaml/dist/schema/yaml-1.1/timestamp.js
var require_timestamp = __commonJS({
  "node_modules/yaml/dist/schema/yaml-1.1/timestamp.js"(exports) {
    "use strict";
    var stringifyNumber = require_stringifyNumber();
    function parseSexagesimal(str, asBigInt) {
      const sign = str[0];
      const parts = sign === "-" || sign === "+" ? str.substring(1) : str;
      const num = (n) => asBigInt ? BigInt(n) : Number(n);
      const res = parts.replace(/_/g, "").split(":").reduce((res2, p) => res2 * num(60) + num(p), num(0));
      return sign === "-" ? num(-1) * res : res;
    }
    function stringifySexagesimal(node) {
      let { value } = node;
      let num = (n) => n;
      if (typeof value === "bigint")
        num = (n) => BigInt(n);
      else if (isNaN(value) || !isFinite(value))
        return stringifyNumber.stringifyNumber(node);
      let sign = "";
      if (value < 0) {
        sign = "-";
        value *= num(-1);
      }
      const _60 = num(60);
      const parts = [value % _60];
      if (value < 60) {
        parts.unshift(0);
      } else {
        value = (value - parts[0]) / _60;
        parts.unshift(value % _60);
        if (value >= 60) {
          value = (value - parts[0]) / _60;
          parts.unshift(value);
        }
      }
      return sign + parts.map((n) => String(n).padStart(2, "0")).join(":").replace(/000000\d*$/, "");
    }
    var intTime = {
      identify: (value) => typeof value === "bigint" || Number.isInteger(value),
      default: true,
      tag: "tag:yaml.org,2002:int",
      format: "TIME",
      test: /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+$/,
      resolve: (str, _onError, { intAsBigInt }) => parseSexagesimal(str, intAsBigInt),
      stringify: stringifySexagesimal
    };
    var floatTime = {
      identify: (value) => typeof value === "number",
      default: true,
      tag: "tag:yaml.org,2002:float",
      format: "TIME",
      test: /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$/,
      resolve: (str) => parseSexagesimal(str, false),
      stringify: stringifySexagesimal
    };
    var timestamp = {
      identify: (value) => value instanceof Date,
      default: true,
      tag: "tag:yaml.org,2002:timestamp",
      // If the time zone is omitted, the timestamp is assumed to be specified in UTC. The time part
      // may be omitted altogether, resulting in a date format. In such a case, the time part is
      // assumed to be 00:00:00Z (start of day, UTC).
      test: RegExp("^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:t|T|[ \\t]+)([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2}(\\.[0-9]+)?)(?:[ \\t]*(Z|[-+][012]?[0-9](?::[0-9]{2})?))?)?$"),
      resolve(str) {
        const match = str.match(timestamp.test);
        if (!match)
          throw new Error("!!timestamp expects a date, starting with yyyy-mm-dd");
        const [, year, month, day, hour, minute, second] = match.map(Number);
        const millisec = match[7] ? Number((match[7] + "00").substr(1, 3)) : 0;
        let date = Date.UTC(year, month - 1, day, hour || 0, minute || 0, second || 0, millisec);
        const tz = match[8];
        if (tz && tz !== "Z") {
          let d = parseSexagesimal(tz, false);
          if (Math.abs(d) < 30)
            d *= 60;
          date -= 6e4 * d;
        }
        return new Date(date);
      },
      stringify: ({ value }) => value?.toISOString().replace(/(T00:00:00)?\.000Z$/, "") ?? ""
    };
    exports.floatTime = floatTime;
    exports.intTime = intTime;
    exports.timestamp = timestamp;
  }
});

// node_modules/yaml/dist/schema/yaml-1.1/schema.js
var require_schema3 = __commonJS({
  "node_modules/yaml/dist/schema/yaml-1.1/schema.js"(exports) {
    "use strict";
    var map = require_map();
    var _null = require_null();
    var seq = require_seq();
    var string = require_string();
    var binary = require_binary();
    var bool = require_bool2();
    var float = require_float2();
    var int2 = require_int2();
    var merge = require_merge();
    var omap = require_omap();
    var pairs = require_pairs();
    var set = require_set();
    var timestamp = require_timestamp();
    var schema = [
      map.map,
      seq.seq,
      string.string,
      _null.nullTag,
      bool.trueTag,
      bool.falseTag,
      int2.intBin,
      int2.intOct,
      int2.int,
      int2.intHex,
      float.floatNaN,
      float.floatExp,
      float.float,
      binary.binary,
      merge.merge,
      omap.omap,
      pairs.pairs,
      set.set,
      timestamp.intTime,
      timestamp.floatTime,
      timestamp.timestamp
    ];
    exports.schema = schema;
  }
});

// node_modules/yaml/dist/schema/tags.js
var require_tags = __commonJS({
  "node_modules/yaml/dist/schema/tags.js"(exports) {
    "use strict";
    var map = require_map();
    var _null = require_null();
    var seq = require_seq();
    var string = require_string();
    var bool = require_bool();
    var float = require_float();
    var int2 = require_int();
    var schema = require_schema();
    var schema$1 = require_schema2();
    var binary = require_binary();
    var merge = require_merge();
    var omap = require_omap();
    var pairs = require_pairs();
    var schema$2 = require_schema3();
    var set = require_set();
    var timestamp = require_timestamp();
    var schemas = /* @__PURE__ */ new Map([
      ["core", schema.schema],
      ["failsafe", [map.map, seq.seq, string.string]],
      ["json", schema$1.schema],
      ["yaml11", schema$2.schema],
      ["yaml-1.1", schema$2.schema]
    ]);
    var tagsByName = {
      binary: binary.binary,
      bool: bool.boolTag,
      float: float.float,
      floatExp: float.floatExp,
      floatNaN: float.floatNaN,
      floatTime: timestamp.floatTime,
      int: int2.int,
      intHex: int2.intHex,
      intOct: int2.intOct,
      intTime: timestamp.intTime,
      map: map.map,
      merge: merge.merge,
      null: _null.nullTag,
      omap: omap.omap,
      pairs: pairs.pairs,
      seq: seq.seq,
      set: set.set,
      timestamp: timestamp.timestamp
    };
    var coreKnownTags = {
      "tag:yaml.org,2002:binary": binary.binary,
      "tag:yaml.org,2002:merge": merge.merge,
      "tag:yaml.org,2002:omap": omap.omap,
      "tag:yaml.org,2002:pairs": pairs.pairs,
      "tag:yaml.org,2002:set": set.set,
      "tag:yaml.org,2002:timestamp": timestamp.timestamp
    };
    function getTags(customTags, schemaName, addMergeTag) {
      const schemaTags = schemas.get(schemaName);
      if (schemaTags && !customTags) {
        return addMergeTag && !schemaTags.includes(merge.merge) ? schemaTags.concat(merge.merge) : schemaTags.slice();
      }
      let tags = schemaTags;
      if (!tags) {
        if (Array.isArray(customTags))
          tags = [];
        else {
          const keys = Array.from(schemas.keys()).filter((key) => key !== "yaml11").map((key) => JSON.stringify(key)).join(", ");
          throw new Error(`Unknown schema "${schemaName}"; use one of ${keys} or define customTags array`);
        }
      }
      if (Array.isArray(customTags)) {
        for (const tag of customTags)
          tags = tags.concat(tag);
      } else if (typeof customTags === "function") {
        tags = customTags(tags.slice());
      }
      if (addMergeTag)
        tags = tags.concat(merge.merge);
      return tags.reduce((tags2, tag) => {
        const tagObj = typeof tag === "string" ? tagsByName[tag] : tag;
        if (!tagObj) {
          const tagName = JSON.stringify(tag);
          const keys = Object.keys(tagsByName).map((key) => JSON.stringify(key)).join(", ");
          throw new Error(`Unknown custom tag ${tagName}; use one of ${keys}`);
        }
        if (!tags2.includes(tagObj))
          tags2.push(tagObj);
        return tags2;
      }, []);
    }
    exports.coreKnownTags = coreKnownTags;
    exports.getTags = getTags;
  }
});

// node_modules/yaml/dist/schema/Schema.js
var require_Schema = __commonJS({
  "node_modules/yaml/dist/schema/Schema.js"(exports) {
    "use strict";
    var identity = require_identity();
    var map = require_map();
    var seq = require_seq();
    var string = require_string();
    var tags = require_tags();
    var sortMapEntriesByKey = (a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
    var Schema = class _Schema {
      constructor({ compat, customTags, merge, resolveKnownTags, schema, sortMapEntries, toStringDefaults }) {
        this.compat = Array.isArray(compat) ? tags.getTags(compat, "compat") : compat ? tags.getTags(null, compat) : null;
        this.name = typeof schema === "string" && schema || "core";
        this.knownTags = resolveKnownTags ? tags.coreKnownTags : {};
        this.tags = tags.getTags(customTags, this.name, merge);
        this.toStringOptions = toStringDefaults ?? null;
        Object.defineProperty(this, identity.MAP, { value: map.map });
        Object.defineProperty(this, identity.SCALAR, { value: string.string });
        Object.defineProperty(this, identity.SEQ, { value: seq.seq });
        this.sortMapEntries = typeof sortMapEntries === "function" ? sortMapEntries : sortMapEntries === true ? sortMapEntriesByKey : null;
      }
      clone() {
        const copy = Object.create(_Schema.prototype, Object.getOwnPropertyDescriptors(this));
        copy.tags = this.tags.slice();
        return copy;
      }
    };
    exports.Schema = Schema;
  }
});

// node_modules/yaml/dist/stringify/stringifyDocument.js
var require_stringifyDocument = __commonJS({
  "node_modules/yaml/dist/stringify/stringifyDocument.js"(exports) {
    "use strict";
    var identity = require_identity();
    var stringify = require_stringify();
    var stringifyComment = require_stringifyComment();
    function stringifyDocument(doc, options) {
      const lines = [];
      let hasDirectives = options.directives === true;
      if (options.directives !== false && doc.directives) {
        const dir = doc.directives.toString(doc);
        if (dir) {
          lines.push(dir);
          hasDirectives = true;
        } else if (doc.directives.docStart)
          hasDirectives = true;
      }
      if (hasDirectives)
        lines.push("---");
      const ctx = stringify.createStringifyContext(doc, options);
      const { commentString } = ctx.options;
      if (doc.commentBefore) {
        if (lines.length !== 1)
          lines.unshift("");
        const cs = commentString(doc.commentBefore);
        lines.unshift(stringifyComment.indentComment(cs, ""));
      }
      let chompKeep = false;
      let contentComment = null;
      if (doc.contents) {
        if (identity.isNode(doc.contents)) {
          if (doc.contents.spaceBefore && hasDirectives)
            lines.push("");
          if (doc.contents.commentBefore) {
            const cs = commentString(doc.contents.commentBefore);
            lines.push(stringifyComment.indentComment(cs, ""));
          }
          ctx.forceBlockIndent = !!doc.comment;
          contentComment = doc.contents.comment;
        }
        const onChompKeep = contentComment ? void 0 : () => chompKeep = true;
        let body = stringify.stringify(doc.contents, ctx, () => contentComment = null, onChompKeep);
        if (contentComment)
          body += stringifyComment.lineComment(body, "", commentString(contentComment));
        if ((body[0] === "|" || body[0] === ">") && lines[lines.length - 1] === "---") {
          lines[lines.length - 1] = `--- ${body}`;
        } else
          lines.push(body);
      } else {
        lines.push(stringify.stringify(doc.contents, ctx));
      }
      if (doc.directives?.docEnd) {
        if (doc.comment) {
          const cs = commentString(doc.comment);
          if (cs.includes("\n")) {
            lines.push("...");
            lines.push(stringifyComment.indentComment(cs, ""));
          } else {
            lines.push(`... ${cs}`);
          }
        } else {
          lines.push("...");
        }
      } else {
        let dc = doc.comment;
        if (dc && chompKeep)
          dc = dc.replace(/^\n+/, "");
        if (dc) {
          if ((!chompKeep || contentComment) && lines[lines.length - 1] !== "")
            lines.push("");
          lines.push(stringifyComment.indentComment(commentString(dc), ""));
        }
      }
      return lines.join("\n") + "\n";
    }
    exports.stringifyDocument = stringifyDocument;
  }
});

// node_modules/yaml/dist/doc/Document.js
var require_Document = __commonJS({
  "node_modules/yaml/dist/doc/Document.js"(exports) {
    "use strict";
    var Alias = require_Alias();
    var Collection = require_Collection();
    var identity = require_identity();
    var Pair = require_Pair();
    var toJS = require_toJS();
    var Schema = require_Schema();
    var stringifyDocument = require_stringifyDocument();
    var anchors = require_anchors();
    var applyReviver = require_applyReviver();
    var createNode = require_createNode();
    var directives = require_directives();
    var Document = class _Document {
      constructor(value, replacer, options) {
        this.commentBefore = null;
        this.comment = null;
        this.errors = [];
        this.warnings = [];
        Object.defineProperty(this, identity.NODE_TYPE, { value: identity.DOC });
        let _replacer = null;
        if (typeof replacer === "function" || Array.isArray(replacer)) {
          _replacer = replacer;
        } else if (options === void 0 && replacer) {
          options = replacer;
          replacer = void 0;
        }
        const opt = Object.assign({
          intAsBigInt: false,
          keepSourceTokens: false,
          logLevel: "warn",
          prettyErrors: true,
          strict: true,
          stringKeys: false,
          uniqueKeys: true,
          version: "1.2"
        }, options);
        this.options = opt;
        let { version } = opt;
        if (options?._directives) {
          this.directives = options._directives.atDocument();
          if (this.directives.yaml.explicit)
            version = this.directives.yaml.version;
        } else
          this.directives = new directives.Directives({ version });
        this.setSchema(version, options);
        this.contents = value === void 0 ? null : this.createNode(value, _replacer, options);
      }
      /**
       * Create a deep copy of this Document and its contents.
       *
       * Custom Node values that inherit from `Object` still refer to their original instances.
       */
      clone() {
        const copy = Object.create(_Document.prototype, {
          [identity.NODE_TYPE]: { value: identity.DOC }
        });
        copy.commentBefore = this.commentBefore;
        copy.comment = this.comment;
        copy.errors = this.errors.slice();
        copy.warnings = this.warnings.slice();
        copy.options = Object.assign({}, this.options);
        if (this.directives)
          copy.directives = this.directives.clone();
        copy.schema = this.schema.clone();
        copy.contents = identity.isNode(this.contents) ? this.contents.clone(copy.schema) : this.contents;
        if (this.range)
          copy.range = this.range.slice();
        return copy;
      }
      /** Adds a value to the document. */
      add(value) {
        if (assertCollection(this.contents))
          this.contents.add(value);
      }
      /** Adds a value to the document. */
      addIn(path7, value) {
        if (assertCollection(this.contents))
          this.contents.addIn(path7, value);
      }
      /**
       * Create a new `Alias` node, ensuring that the target `node` has the required anchor.
       *
       * If `node` already has an anchor, `name` is ignored.
       * Otherwise, the `node.anchor` value will be set to `name`,
       * or if an anchor with that name is already present in the document,
       * `name` will be used as a prefix for a new unique anchor.
       * If `name` is undefined, the generated anchor will use 'a' as a prefix.
       */
      createAlias(node, name) {
        if (!node.anchor) {
          const prev = anchors.anchorNames(this);
          node.anchor = // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing
          !name || prev.has(name) ? anchors.findNewAnchor(name || "a", prev) : name;
        }
        return new Alias.Alias(node.anchor);
      }
      createNode(value, replacer, options) {
        let _replacer = void 0;
        if (typeof replacer === "function") {
          value = replacer.call({ "": value }, "", value);
          _replacer = replacer;
        } else if (Array.isArray(replacer)) {
          const keyToStr = (v) => typeof v === "number" || v instanceof String || v instanceof Number;
          const asStr = replacer.filter(keyToStr).map(String);
          if (asStr.length > 0)
            replacer = replacer.concat(asStr);
          _replacer = replacer;
        } else if (options === void 0 && replacer) {
          options = replacer;
          replacer = void 0;
        }
        const { aliasDuplicateObjects, anchorPrefix, flow, keepUndefined, onTagObj, tag } = options ?? {};
        const { onAnchor, setAnchors, sourceObjects } = anchors.createNodeAnchors(
          this,
          // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing
          anchorPrefix || "a"
        );
        const ctx = {
          aliasDuplicateObjects: aliasDuplicateObjects ?? true,
          keepUndefined: keepUndefined ?? false,
          onAnchor,
          onTagObj,
          replacer: _replacer,
          schema: this.schema,
          sourceObjects
        };
        const node = createNode.createNode(value, tag, ctx);
        if (flow && identity.isCollection(node))
          node.flow = true;
        setAnchors();
        return node;
      }
      /**
       * Convert a key and a value into a `Pair` using the current schema,
       * recursively wrapping all values as `Scalar` or `Collection` nodes.
       */
      createPair(key, value, options = {}) {
        const k = this.createNode(key, null, options);
        const v = this.createNode(value, null, options);
        return new Pair.Pair(k, v);
      }
      /**
       * Removes a value from the document.
       * @returns `true` if the item was found and removed.
       */
      delete(key) {
        return assertCollection(this.contents) ? this.contents.delete(key) : false;
      }
      /**
       * Removes a value from the document.
       * @returns `true` if the item was found and removed.
       */
      deleteIn(path7) {
        if (Collection.isEmptyPath(path7)) {
          if (this.contents == null)
            return false;
          this.contents = null;
          return true;
        }
        return assertCollection(this.contents) ? this.contents.deleteIn(path7) : false;
      }
      /**
       * Returns item at `key`, or `undefined` if not found. By default unwraps
       * scalar values from their surrounding node; to disable set `keepScalar` to
       * `true` (collections are always returned intact).
       */
      get(key, keepScalar) {
        return identity.isCollection(this.contents) ? this.contents.get(key, keepScalar) : void 0;
      }
      /**
       * Returns item at `path`, or `undefined` if not found. By default unwraps
       * scalar values from their surrounding node; to disable set `keepScalar` to
       * `true` (collections are always returned intact).
       */
      getIn(path7, keepScalar) {
        if (Collection.isEmptyPath(path7))
          return !keepScalar && identity.isScalar(this.contents) ? this.contents.value : this.contents;
        return identity.isCollection(this.contents) ? this.contents.getIn(path7, keepScalar) : void 0;
      }
      /**
       * Checks if the document includes a value with the key `key`.
       */
      has(key) {
        return identity.isCollection(this.contents) ? this.contents.has(key) : false;
      }
      /**
       * Checks if the document includes a value at `path`.
       */
      hasIn(path7) {
        if (Collection.isEmptyPath(path7))
          return this.contents !== void 0;
        return identity.isCollection(this.contents) ? this.contents.hasIn(path7) : false;
      }
      /**
       * Sets a value in this document. For `!!set`, `value` needs to be a
       * boolean to add/remove the item from the set.
       */
      set(key, value) {
        if (this.contents == null) {
          this.contents = Collection.collectionFromPath(this.schema, [key], value);
        } else if (assertCollection(this.contents)) {
          this.contents.set(key, value);
        }
      }
      /**
       * Sets a value in this document. For `!!set`, `value` needs to be a
       * boolean to add/remove the item from the set.
       */
      setIn(path7, value) {
        if (Collection.isEmptyPath(path7)) {
          this.contents = value;
        } else if (this.contents == null) {
          this.contents = Collection.collectionFromPath(this.schema, Array.from(path7), value);
        } else if (assertCollection(this.contents)) {
          this.contents.setIn(path7, value);
        }
      }
      /**
       * Change the YAML version and schema used by the document.
       * A `null` version disables support for directives, explicit tags, anchors, and aliases.
       * It also requires the `schema` option to be given as a `Schema` instance value.
       *
       * Overrides all previously set schema options.
       */
      setSchema(version, options = {}) {
        if (typeof version === "number")
          version = String(version);
        let opt;
        switch (version) {
          case "1.1":
            if (this.directives)
              this.directives.yaml.version = "1.1";
            else
              this.directives = new directives.Directives({ version: "1.1" });
            opt = { resolveKnownTags: false, schema: "yaml-1.1" };
            break;
          case "1.2":
          case "next":
            if (this.directives)
              this.directives.yaml.version = version;
            else
              this.directives = new directives.Directives({ version });
            opt = { resolveKnownTags: true, schema: "core" };
            break;
          case null:
            if (this.directives)
              delete this.directives;
            opt = null;
            break;
          default: {
            const sv = JSON.stringify(version);
            throw new Error(`Expected '1.1', '1.2' or null as first argument, but found: ${sv}`);
          }
        }
        if (options.schema instanceof Object)
          this.schema = options.schema;
        else if (opt)
          this.schema = new Schema.Schema(Object.assign(opt, options));
        else
          throw new Error(`With a null YAML version, the { schema: Schema } option is required`);
      }
      // json & jsonArg are only used from toJSON()
      toJS({ json, jsonArg, mapAsMap, maxAliasCount, onAnchor, reviver } = {}) {
        const ctx = {
          anchors: /* @__PURE__ */ new Map(),
          doc: this,
          keep: !json,
          mapAsMap: mapAsMap === true,
          mapKeyWarned: false,
          maxAliasCount: typeof maxAliasCount === "number" ? maxAliasCount : 100
        };
        const res = toJS.toJS(this.contents, jsonArg ?? "", ctx);
        if (typeof onAnchor === "function")
          for (const { count, res: res2 } of ctx.anchors.values())
            onAnchor(res2, count);
        return typeof reviver === "function" ? applyReviver.applyReviver(reviver, { "": res }, "", res) : res;
      }
      /**
       * A JSON representation of the document `contents`.
       *
       * @param jsonArg Used by `JSON.stringify` to indicate the array index or
       *   property name.
       */
      toJSON(jsonArg, onAnchor) {
        return this.toJS({ json: true, jsonArg, mapAsMap: false, onAnchor });
      }
      /** A YAML representation of the document. */
      toString(options = {}) {
        if (this.errors.length > 0)
          throw new Error("Document with errors cannot be stringified");
        if ("indent" in options && (!Number.isInteger(options.indent) || Number(options.indent) <= 0)) {
          const s = JSON.stringify(options.indent);
          throw new Error(`"indent" option must be a positive integer, not ${s}`);
        }
        return stringifyDocument.stringifyDocument(this, options);
      }
    };
    function assertCollection(contents) {
      if (identity.isCollection(contents))
        return true;
      throw new Error("Expected a YAML collection as document contents");
    }
    exports.Document = Document;
  }
});

// node_modules/yaml/dist/errors.js
var require_errors = __commonJS({
  "node_modules/yaml/dist/errors.js"(exports) {
    "use strict";
    var YAMLError = class extends Error {
      constructor(name, pos, code, message) {
        super();
        this.name = name;
        this.code = code;
        this.message = message;
        this.pos = pos;
      }
    };
    var YAMLParseError2 = class extends YAMLError {
      constructor(pos, code, message) {
        super("YAMLParseError", pos, code, message);
      }
    };
    var YAMLWarning = class extends YAMLError {
      constructor(pos, code, message) {
        super("YAMLWarning", pos, code, message);
      }
    };
    var prettifyError = (src, lc) => (error2) => {
      if (error2.pos[0] === -1)
        return;
      error2.linePos = error2.pos.map((pos) => lc.linePos(pos));
      const { line, col } = error2.linePos[0];
      error2.message += ` at line ${line}, column ${col}`;
      let ci2 = col - 1;
      let lineStr = src.substring(lc.lineStarts[line - 1], lc.lineStarts[line]).replace(/[\n\r]+$/, "");
      if (ci2 >= 60 && lineStr.length > 80) {
        const trimStart = Math.min(ci2 - 39, lineStr.length - 79);
        lineStr = "…" + lineStr.substring(trimStart);
        ci2 -= trimStart - 1;
      }
      if (lineStr.length > 80)
        lineStr = lineStr.substring(0, 79) + "…";
      if (line > 1 && /^ *$/.test(lineStr.substring(0, ci2))) {
        let prev = src.substring(lc.lineStarts[line - 2], lc.lineStarts[line - 1]);
        if (prev.length > 80)
          prev = prev.substring(0, 79) + "…\n";
        lineStr = prev + lineStr;
      }
      if (/[^ ]/.test(lineStr)) {
        let count = 1;
        const end = error2.linePos[1];
        if (end?.line === line && end.col > col) {
          count = Math.max(1, Math.min(end.col - col, 80 - ci2));
        }
        const pointer = " ".repeat(ci2) + "^".repeat(count);
        error2.message += `:

${lineStr}
${pointer}
`;
      }
    };
    exports.YAMLError = YAMLError;
    exports.YAMLParseError = YAMLParseError2;
    exports.YAMLWarning = YAMLWarning;
    exports.prettifyError = prettifyError;
  }
});

// node_modules/yaml/dist/compose/resolve-props.js
var require_resolve_props = __commonJS({
  "node_modules/yaml/dist/compose/resolve-props.js"(exports) {
    "use strict";
    function resolveProps(tokens, { flow, indicator, next, offset, onError, parentIndent, startOnNewline }) {
      let spaceBefore = false;
      let atNewline = startOnNewline;
      let hasSpace = startOnNewline;
      let comment = "";
      let commentSep = "";
      let hasNewline = false;
      let reqSpace = false;
      let tab = null;
      let anchor = null;
      let tag = null;
      let newlineAfterProp = null;
      let comma = null;
      let found = null;
      let start = null;
      for (const token of tokens) {
        if (reqSpace) {
          if (token.type !== "space" && token.type !== "newline" && token.type !== "comma")
            onError(token.offset, "MISSING_CHAR", "Tags and anchors must be separated from the next token by white space");
          reqSpace = false;
        }
        if (tab) {
          if (atNewline && token.type !== "comment" && token.type !== "newline") {
            onError(tab, "TAB_AS_INDENT", "Tabs are not allowed as indentation");
          }
          tab = null;
        }
        switch (token.type) {
          case "space":
            if (!flow && (indicator !== "doc-start" || next?.type !== "flow-collection") && token.source.includes("	")) {
              tab = token;
            }
            hasSpace = true;
            break;
          case "comment": {
            if (!hasSpace)
              onError(token, "MISSING_CHAR", "Comments must be separated from other tokens by white space characters");
            const cb = token.source.substring(1) || " ";
            if (!comment)
              comment = cb;
            else
              comment += commentSep + cb;
            commentSep = "";
            atNewline = false;
            break;
          }
          case "newline":
            if (atNewline) {
              if (comment)
                comment += token.source;
              else if (!found || indicator !== "seq-item-ind")
                spaceBefore = true;
            } else
              commentSep += token.source;
            atNewline = true;
            hasNewline = true;
            if (anchor || tag)
              newlineAfterProp = token;
            hasSpace = true;
            break;
          case "anchor":
            if (anchor)
              onError(token, "MULTIPLE_ANCHORS", "A node can have at most one anchor");
            if (token.source.endsWith(":"))
              onError(token.offset + token.source.length - 1, "BAD_ALIAS", "Anchor ending in : is ambiguous", true);
            anchor = token;
            start ?? (start = token.offset);
            atNewline = false;
            hasSpace = false;
            reqSpace = true;
            break;
          case "tag": {
            if (tag)
              onError(token, "MULTIPLE_TAGS", "A node can have at most one tag");
            tag = token;
            start ?? (start = token.offset);
            atNewline = false;
            hasSpace = false;
            reqSpace = true;
            break;
          }
          case indicator:
            if (anchor || tag)
              onError(token, "BAD_PROP_ORDER", `Anchors and tags must be after the ${token.source} indicator`);
            if (found)
              onError(token, "UNEXPECTED_TOKEN", `Unexpected ${token.source} in ${flow ?? "collection"}`);
            found = token;
            atNewline = indicator === "seq-item-ind" || indicator === "explicit-key-ind";
            hasSpace = false;
            break;
          case "comma":
            if (flow) {
              if (comma)
                onError(token, "UNEXPECTED_TOKEN", `Unexpected , in ${flow}`);
              comma = token;
              atNewline = false;
              hasSpace = false;
              break;
            }
          // else fallthrough
          default:
            onError(token, "UNEXPECTED_TOKEN", `Unexpected ${token.type} token`);
            atNewline = false;
            hasSpace = false;
        }
      }
      const last = tokens[tokens.length - 1];
      const end = last ? last.offset + last.source.length : offset;
      if (reqSpace && next && next.type !== "space" && next.type !== "newline" && next.type !== "comma" && (next.type !== "scalar" || next.source !== "")) {
        onError(next.offset, "MISSING_CHAR", "Tags and anchors must be separated from the next token by white space");
      }
      if (tab && (atNewline && tab.indent <= parentIndent || next?.type === "block-map" || next?.type === "block-seq"))
        onError(tab, "TAB_AS_INDENT", "Tabs are not allowed as indentation");
      return {
        comma,
        found,
        spaceBefore,
        comment,
        hasNewline,
        anchor,
        tag,
        newlineAfterProp,
        end,
        start: start ?? end
      };
    }
    exports.resolveProps = resolveProps;
  }
});

// node_modules/yaml/dist/compose/util-contains-newline.js
var require_util_contains_newline = __commonJS({
  "node_modules/yaml/dist/compose/util-contains-newline.js"(exports) {
    "use strict";
    function containsNewline(key) {
      if (!key)
        return null;
      switch (key.type) {
        case "alias":
        case "scalar":
        case "double-quoted-scalar":
        case "single-quoted-scalar":
          if (key.source.includes("\n"))
            return true;
          if (key.end) {
            for (const st of key.end)
              if (st.type === "newline")
                return true;
          }
          return false;
        case "flow-collection":
          for (const it of key.items) {
            for (const st of it.start)
              if (st.type === "newline")
                return true;
            if (it.sep) {
              for (const st of it.sep)
                if (st.type === "newline")
                  return true;
            }
            if (containsNewline(it.key) || containsNewline(it.value))
              return true;
          }
          return false;
        default:
          return true;
      }
    }
    exports.containsNewline = containsNewline;
  }
});

// node_modules/yaml/dist/compose/util-flow-indent-check.js
var require_util_flow_indent_check = __commonJS({
  "node_modules/yaml/dist/compose/util-flow-indent-check.js"(exports) {
    "use strict";
    var utilContainsNewline = require_util_contains_newline();
    function flowIndentCheck(indent, fc, onError) {
      if (fc?.type === "flow-collection") {
        const end = fc.end[0];
        if (end.indent === indent && (end.source === "]" || end.source === "}") && utilContainsNewline.containsNewline(fc)) {
          const msg = "Flow end indicator should be more indented than parent";
          onError(end, "BAD_INDENT", msg, true);
        }
      }
    }
    exports.flowIndentCheck = flowIndentCheck;
  }
});

// node_modules/yaml/dist/compose/util-map-includes.js
var require_util_map_includes = __commonJS({
  "node_modules/yaml/dist/compose/util-map-includes.js"(exports) {
    "use strict";
    var identity = require_identity();
    function mapIncludes(ctx, items, search) {
      const { uniqueKeys } = ctx.options;
      if (uniqueKeys === false)
        return false;
      const isEqual = typeof uniqueKeys === "function" ? uniqueKeys : (a, b) => a === b || identity.isScalar(a) && identity.isScalar(b) && a.value === b.value;
      return items.some((pair) => isEqual(pair.key, search));
    }
    exports.mapIncludes = mapIncludes;
  }
});

// node_modules/yaml/dist/compose/resolve-block-map.js
var require_resolve_block_map = __commonJS({
  "node_modules/yaml/dist/compose/resolve-block-map.js"(exports) {
    "use strict";
    var Pair = require_Pair();
    var YAMLMap = require_YAMLMap();
    var resolveProps = require_resolve_props();
    var utilContainsNewline = require_util_contains_newline();
    var utilFlowIndentCheck = require_util_flow_indent_check();
    var utilMapIncludes = require_util_map_includes();
    var startColMsg = "All mapping items must start at the same column";
    function resolveBlockMap({ composeNode, composeEmptyNode }, ctx, bm, onError, tag) {
      const NodeClass = tag?.nodeClass ?? YAMLMap.YAMLMap;
      const map = new NodeClass(ctx.schema);
      if (ctx.atRoot)
        ctx.atRoot = false;
      let offset = bm.offset;
      let commentEnd = null;
      for (const collItem of bm.items) {
        const { start, key, sep, value } = collItem;
        const keyProps = resolveProps.resolveProps(start, {
          indicator: "explicit-key-ind",
          next: key ?? sep?.[0],
          offset,
          onError,
          parentIndent: bm.indent,
          startOnNewline: true
        });
        const implicitKey = !keyProps.found;
        if (implicitKey) {
          if (key) {
            if (key.type === "block-seq")
              onError(offset, "BLOCK_AS_IMPLICIT_KEY", "A block sequence may not be used as an implicit map key");
            else if ("indent" in key && key.indent !== bm.indent)
              onError(offset, "BAD_INDENT", startColMsg);
          }
          if (!keyProps.anchor && !keyProps.tag && !sep) {
            commentEnd = keyProps.end;
            if (keyProps.comment) {
              if (map.comment)
                map.comment += "\n" + keyProps.comment;
              else
                map.comment = keyProps.comment;
            }
            continue;
          }
          if (keyProps.newlineAfterProp || utilContainsNewline.containsNewline(key)) {
            onError(key ?? start[start.length - 1], "MULTILINE_IMPLICIT_KEY", "Implicit keys need to be on a single line");
          }
        } else if (keyProps.found?.indent !== bm.indent) {
          onError(offset, "BAD_INDENT", startColMsg);
        }
        ctx.atKey = true;
        const keyStart = keyProps.end;
        const keyNode = key ? composeNode(ctx, key, keyProps, onError) : composeEmptyNode(ctx, keyStart, start, null, keyProps, onError);
        if (ctx.schema.compat)
          utilFlowIndentCheck.flowIndentCheck(bm.indent, key, onError);
        ctx.atKey = false;
        if (utilMapIncludes.mapIncludes(ctx, map.items, keyNode))
          onError(keyStart, "DUPLICATE_KEY", "Map keys must be unique");
        const valueProps = resolveProps.resolveProps(sep ?? [], {
          indicator: "map-value-ind",
          next: value,
          offset: keyNode.range[2],
          onError,
          parentIndent: bm.indent,
          startOnNewline: !key || key.type === "block-scalar"
        });
        offset = valueProps.end;
        if (valueProps.found) {
          if (implicitKey) {
            if (value?.type === "block-map" && !valueProps.hasNewline)
              onError(offset, "BLOCK_AS_IMPLICIT_KEY", "Nested mappings are not allowed in compact mappings");
            if (ctx.options.strict && keyProps.start < valueProps.found.offset - 1024)
              onError(keyNode.range, "KEY_OVER_1024_CHARS", "The : indicator must be at most 1024 chars after the start of an implicit block mapping key");
          }
          const valueNode = value ? composeNode(ctx, value, valueProps, onError) : composeEmptyNode(ctx, offset, sep, null, valueProps, onError);
          if (ctx.schema.compat)
            utilFlowIndentCheck.flowIndentCheck(bm.indent, value, onError);
          offset = valueNode.range[2];
          const pair = new Pair.Pair(keyNode, valueNode);
          if (ctx.options.keepSourceTokens)
            pair.srcToken = collItem;
          map.items.push(pair);
        } else {
          if (implicitKey)
            onError(keyNode.range, "MISSING_CHAR", "Implicit map keys need to be followed by map values");
          if (valueProps.comment) {
            if (keyNode.comment)
              keyNode.comment += "\n" + valueProps.comment;
            else
              keyNode.comment = valueProps.comment;
          }
          const pair = new Pair.Pair(keyNode);
          if (ctx.options.keepSourceTokens)
            pair.srcToken = collItem;
          map.items.push(pair);
        }
      }
      if (commentEnd && commentEnd < offset)
        onError(commentEnd, "IMPOSSIBLE", "Map comment with trailing content");
      map.range = [bm.offset, offset, commentEnd ?? offset];
      return map;
    }
    exports.resolveBlockMap = resolveBlockMap;
  }
});

// node_modules/yaml/dist/compose/resolve-block-seq.js
var require_resolve_block_seq = __commonJS({
  "node_modules/yaml/dist/compose/resolve-block-seq.js"(exports) {
    "use strict";
    var YAMLSeq = require_YAMLSeq();
    var resolveProps = require_resolve_props();
    var utilFlowIndentCheck = require_util_flow_indent_check();
    function resolveBlockSeq({ composeNode, composeEmptyNode }, ctx, bs, onError, tag) {
      const NodeClass = tag?.nodeClass ?? YAMLSeq.YAMLSeq;
      const seq = new NodeClass(ctx.schema);
      if (ctx.atRoot)
        ctx.atRoot = false;
      if (ctx.atKey)
        ctx.atKey = false;
      let offset = bs.offset;
      let commentEnd = null;
      for (const { start, value } of bs.items) {
        const props = resolveProps.resolveProps(start, {
          indicator: "seq-item-ind",
          next: value,
          offset,
          onError,
          parentIndent: bs.indent,
          startOnNewline: true
        });
        if (!props.found) {
          if (props.anchor || props.tag || value) {
            if (value?.type === "block-seq")
              onError(props.end, "BAD_INDENT", "All sequence items must start at the same column");
            else
              onError(offset, "MISSING_CHAR", "Sequence item without - indicator");
          } else {
            commentEnd = props.end;
            if (props.comment)
              seq.comment = props.comment;
            continue;
          }
        }
        const node = value ? composeNode(ctx, value, props, onError) : composeEmptyNode(ctx, props.end, start, null, props, onError);
        if (ctx.schema.compat)
          utilFlowIndentCheck.flowIndentCheck(bs.indent, value, onError);
        offset = node.range[2];
        seq.items.push(node);
      }
      seq.range = [bs.offset, offset, commentEnd ?? offset];
      return seq;
    }
    exports.resolveBlockSeq = resolveBlockSeq;
  }
});

// node_modules/yaml/dist/compose/resolve-end.js
var require_resolve_end = __commonJS({
  "node_modules/yaml/dist/compose/resolve-end.js"(exports) {
    "use strict";
    function resolveEnd(end, offset, reqSpace, onError) {
      let comment = "";
      if (end) {
        let hasSpace = false;
        let sep = "";
        for (const token of end) {
          const { source, type } = token;
          switch (type) {
            case "space":
              hasSpace = true;
              break;
            case "comment": {
              if (reqSpace && !hasSpace)
                onError(token, "MISSING_CHAR", "Comments must be separated from other tokens by white space characters");
              const cb = source.substring(1) || " ";
              if (!comment)
                comment = cb;
              else
                comment += sep + cb;
              sep = "";
              break;
            }
            case "newline":
              if (comment)
                sep += source;
              hasSpace = true;
              break;
            default:
              onError(token, "UNEXPECTED_TOKEN", `Unexpected ${type} at node end`);
          }
          offset += source.length;
        }
      }
      return { comment, offset };
    }
    exports.resolveEnd = resolveEnd;
  }
});

// node_modules/yaml/dist/compose/resolve-flow-collection.js
var require_resolve_flow_collection = __commonJS({
  "node_modules/yaml/dist/compose/resolve-flow-collection.js"(exports) {
    "use strict";
    var identity = require_identity();
    var Pair = require_Pair();
    var YAMLMap = require_YAMLMap();
    var YAMLSeq = require_YAMLSeq();
    var resolveEnd = require_resolve_end();
    var resolveProps = require_resolve_props();
    var utilContainsNewline = require_util_contains_newline();
    var utilMapIncludes = require_util_map_includes();
    var blockMsg = "Block collections are not allowed within flow collections";
    var isBlock = (token) => token && (token.type === "block-map" || token.type === "block-seq");
    function resolveFlowCollection({ composeNode, composeEmptyNode }, ctx, fc, onError, tag) {
      const isMap = fc.start.source === "{";
      const fcName = isMap ? "flow map" : "flow sequence";
      const NodeClass = tag?.nodeClass ?? (isMap ? YAMLMap.YAMLMap : YAMLSeq.YAMLSeq);
      const coll = new NodeClass(ctx.schema);
      coll.flow = true;
      const atRoot = ctx.atRoot;
      if (atRoot)
        ctx.atRoot = false;
      if (ctx.atKey)
        ctx.atKey = false;
      let offset = fc.offset + fc.start.source.length;
      for (let i = 0; i < fc.items.length; ++i) {
        const collItem = fc.items[i];
        const { start, key, sep, value } = collItem;
        const props = resolveProps.resolveProps(start, {
          flow: fcName,
          indicator: "explicit-key-ind",
          next: key ?? sep?.[0],
          offset,
          onError,
          parentIndent: fc.indent,
          startOnNewline: false
        });
        if (!props.found) {
          if (!props.anchor && !props.tag && !sep && !value) {
            if (i === 0 && props.comma)
              onError(props.comma, "UNEXPECTED_TOKEN", `Unexpected , in ${fcName}`);
            else if (i < fc.items.length - 1)
              onError(props.start, "UNEXPECTED_TOKEN", `Unexpected empty item in ${fcName}`);
            if (props.comment) {
              if (coll.comment)
                coll.comment += "\n" + props.comment;
              else
                coll.comment = props.comment;
            }
            offset = props.end;
            continue;
          }
          if (!isMap && ctx.options.strict && utilContainsNewline.containsNewline(key))
            onError(
              key,
              // checked by containsNewline()
              "MULTILINE_IMPLICIT_KEY",
              "Implicit keys of flow sequence pairs need to be on a single line"
            );
        }
        if (i === 0) {
          if (props.comma)
            onError(props.comma, "UNEXPECTED_TOKEN", `Unexpected , in ${fcName}`);
        } else {
          if (!props.comma)
            onError(props.start, "MISSING_CHAR", `Missing , between ${fcName} items`);
          if (props.comment) {
            let prevItemComment = "";
            loop: for (const st of start) {
              switch (st.type) {
                case "comma":
                case "space":
                  break;
                case "comment":
                  prevItemComment = st.source.substring(1);
                  break loop;
                default:
                  break loop;
              }
            }
            if (prevItemComment) {
              let prev = coll.items[coll.items.length - 1];
              if (identity.isPair(prev))
                prev = prev.value ?? prev.key;
              if (prev.comment)
                prev.comment += "\n" + prevItemComment;
              else
                prev.comment = prevItemComment;
              props.comment = props.comment.substring(prevItemComment.length + 1);
            }
          }
        }
        if (!isMap && !sep && !props.found) {
          const valueNode = value ? composeNode(ctx, value, props, onError) : composeEmptyNode(ctx, props.end, sep, null, props, onError);
          coll.items.push(valueNode);
          offset = valueNode.range[2];
          if (isBlock(value))
            onError(valueNode.range, "BLOCK_IN_FLOW", blockMsg);
        } else {
          ctx.atKey = true;
          const keyStart = props.end;
          const keyNode = key ? composeNode(ctx, key, props, onError) : composeEmptyNode(ctx, keyStart, start, null, props, onError);
          if (isBlock(key))
            onError(keyNode.range, "BLOCK_IN_FLOW", blockMsg);
          ctx.atKey = false;
          const valueProps = resolveProps.resolveProps(sep ?? [], {
            flow: fcName,
            indicator: "map-value-ind",
            next: value,
            offset: keyNode.range[2],
            onError,
            parentIndent: fc.indent,
            startOnNewline: false
          });
          if (valueProps.found) {
            if (!isMap && !props.found && ctx.options.strict) {
              if (sep)
                for (const st of sep) {
                  if (st === valueProps.found)
                    break;
                  if (st.type === "newline") {
                    onError(st, "MULTILINE_IMPLICIT_KEY", "Implicit keys of flow sequence pairs need to be on a single line");
                    break;
                  }
                }
              if (props.start < valueProps.found.offset - 1024)
                onError(valueProps.found, "KEY_OVER_1024_CHARS", "The : indicator must be at most 1024 chars after the start of an implicit flow sequence key");
            }
          } else if (value) {
            if ("source" in value && value.source?.[0] === ":")
              onError(value, "MISSING_CHAR", `Missing space after : in ${fcName}`);
            else
              onError(valueProps.start, "MISSING_CHAR", `Missing , or : between ${fcName} items`);
          }
          const valueNode = value ? composeNode(ctx, value, valueProps, onError) : valueProps.found ? composeEmptyNode(ctx, valueProps.end, sep, null, valueProps, onError) : null;
          if (valueNode) {
            if (isBlock(value))
              onError(valueNode.range, "BLOCK_IN_FLOW", blockMsg);
          } else if (valueProps.comment) {
            if (keyNode.comment)
              keyNode.comment += "\n" + valueProps.comment;
            else
              keyNode.comment = valueProps.comment;
          }
          const pair = new Pair.Pair(keyNode, valueNode);
          if (ctx.options.keepSourceTokens)
            pair.srcToken = collItem;
          if (isMap) {
            const map = coll;
            if (utilMapIncludes.mapIncludes(ctx, map.items, keyNode))
              onError(keyStart, "DUPLICATE_KEY", "Map keys must be unique");
            map.items.push(pair);
          } else {
            const map = new YAMLMap.YAMLMap(ctx.schema);
            map.flow = true;
            map.items.push(pair);
            const endRange = (valueNode ?? keyNode).range;
            map.range = [keyNode.range[0], endRange[1], endRange[2]];
            coll.items.push(map);
          }
          offset = valueNode ? valueNode.range[2] : valueProps.end;
        }
      }
      const expectedEnd = isMap ? "}" : "]";
      const [ce, ...ee] = fc.end;
      let cePos = offset;
      if (ce?.source === expectedEnd)
        cePos = ce.offset + ce.source.length;
      else {
        const name = fcName[0].toUpperCase() + fcName.substring(1);
        const msg = atRoot ? `${name} must end with a ${expectedEnd}` : `${name} in block collection must be sufficiently indented and end with a ${expectedEnd}`;
        onError(offset, atRoot ? "MISSING_CHAR" : "BAD_INDENT", msg);
        if (ce && ce.source.length !== 1)
          ee.unshift(ce);
      }
      if (ee.length > 0) {
        const end = resolveEnd.resolveEnd(ee, cePos, ctx.options.strict, onError);
        if (end.comment) {
          if (coll.comment)
            coll.comment += "\n" + end.comment;
          else
            coll.comment = end.comment;
        }
        coll.range = [fc.offset, cePos, end.offset];
      } else {
        coll.range = [fc.offset, cePos, cePos];
      }
      return coll;
    }
    exports.resolveFlowCollection = resolveFlowCollection;
  }
});

// node_modules/yaml/dist/compose/compose-collection.js
var require_compose_collection = __commonJS({
  "node_modules/yaml/dist/compose/compose-collection.js"(exports) {
    "use strict";
    var identity = require_identity();
    var Scalar = require_Scalar();
    var YAMLMap = require_YAMLMap();
    var YAMLSeq = require_YAMLSeq();
    var resolveBlockMap = require_resolve_block_map();
    var resolveBlockSeq = require_resolve_block_seq();
    var resolveFlowCollection = require_resolve_flow_collection();
    function resolveCollection(CN, ctx, token, onError, tagName, tag) {
      const coll = token.type === "block-map" ? resolveBlockMap.resolveBlockMap(CN, ctx, token, onError, tag) : token.type === "block-seq" ? resolveBlockSeq.resolveBlockSeq(CN, ctx, token, onError, tag) : resolveFlowCollection.resolveFlowCollection(CN, ctx, token, onError, tag);
      const Coll = coll.constructor;
      if (tagName === "!" || tagName === Coll.tagName) {
        coll.tag = Coll.tagName;
        return coll;
      }
      if (tagName)
        coll.tag = tagName;
      return coll;
    }
    function composeCollection(CN, ctx, token, props, onError) {
      const tagToken = props.tag;
      const tagName = !tagToken ? null : ctx.directives.tagName(tagToken.source, (msg) => onError(tagToken, "TAG_RESOLVE_FAILED", msg));
      if (token.type === "block-seq") {
        const { anchor, newlineAfterProp: nl } = props;
        const lastProp = anchor && tagToken ? anchor.offset > tagToken.offset ? anchor : tagToken : anchor ?? tagToken;
        if (lastProp && (!nl || nl.offset < lastProp.offset)) {
          const message = "Missing newline after block sequence props";
          onError(lastProp, "MISSING_CHAR", message);
        }
      }
      const expType = token.type === "block-map" ? "map" : token.type === "block-seq" ? "seq" : token.start.source === "{" ? "map" : "seq";
      if (!tagToken || !tagName || tagName === "!" || tagName === YAMLMap.YAMLMap.tagName && expType === "map" || tagName === YAMLSeq.YAMLSeq.tagName && expType === "seq") {
        return resolveCollection(CN, ctx, token, onError, tagName);
      }
      let tag = ctx.schema.tags.find((t) => t.tag === tagName && t.collection === expType);
      if (!tag) {
        const kt = ctx.schema.knownTags[tagName];
        if (kt?.collection === expType) {
          ctx.schema.tags.push(Object.assign({}, kt, { default: false }));
          tag = kt;
        } else {
          if (kt) {
            onError(tagToken, "BAD_COLLECTION_TYPE", `${kt.tag} used for ${expType} collection, but expects ${kt.collection ?? "scalar"}`, true);
          } else {
            onError(tagToken, "TAG_RESOLVE_FAILED", `Unresolved tag: ${tagName}`, true);
          }
          return resolveCollection(CN, ctx, token, onError, tagName);
        }
      }
      const coll = resolveCollection(CN, ctx, token, onError, tagName, tag);
      const res = tag.resolve?.(coll, (msg) => onError(tagToken, "TAG_RESOLVE_FAILED", msg), ctx.options) ?? coll;
      const node = identity.isNode(res) ? res : new Scalar.Scalar(res);
      node.range = coll.range;
      node.tag = tagName;
      if (tag?.format)
        node.format = tag.format;
      return node;
    }
    exports.composeCollection = composeCollection;
  }
});

// node_modules/yaml/dist/compose/resolve-block-scalar.js
var require_resolve_block_scalar = __commonJS({
  "node_modules/yaml/dist/compose/resolve-block-scalar.js"(exports) {
    "use strict";
    var Scalar = require_Scalar();
    function resolveBlockScalar(ctx, scalar, onError) {
      const start = scalar.offset;
      const header = parseBlockScalarHeader(scalar, ctx.options.strict, onError);
      if (!header)
        return { value: "", type: null, comment: "", range: [start, start, start] };
      const type = header.mode === ">" ? Scalar.Scalar.BLOCK_FOLDED : Scalar.Scalar.BLOCK_LITERAL;
      const lines = scalar.source ? splitLines(scalar.source) : [];
      let chompStart = lines.length;
      for (let i = lines.length - 1; i >= 0; --i) {
        const content = lines[i][1];
        if (content === "" || content === "\r")
          chompStart = i;
        else
          break;
      }
      if (chompStart === 0) {
        const value2 = header.chomp === "+" && lines.length > 0 ? "\n".repeat(Math.max(1, lines.length - 1)) : "";
        let end2 = start + header.length;
        if (scalar.source)
          end2 += scalar.source.length;
        return { value: value2, type, comment: header.comment, range: [start, end2, end2] };
      }
      let trimIndent = scalar.indent + header.indent;
      let offset = scalar.offset + header.length;
      let contentStart = 0;
      for (let i = 0; i < chompStart; ++i) {
        const [indent, content] = lines[i];
        if (content === "" || content === "\r") {
          if (header.indent === 0 && indent.length > trimIndent)
            trimIndent = indent.length;
        } else {
          if (indent.length < trimIndent) {
            const message = "Block scalars with more-indented leading empty lines must use an explicit indentation indicator";
            onError(offset + indent.length, "MISSING_CHAR", message);
          }
          if (header.indent === 0)
            trimIndent = indent.length;
          contentStart = i;
          if (trimIndent === 0 && !ctx.atRoot) {
            const message = "Block scalar values in collections must be indented";
            onError(offset, "BAD_INDENT", message);
          }
          break;
        }
        offset += indent.length + content.length + 1;
      }
      for (let i = lines.length - 1; i >= chompStart; --i) {
        if (lines[i][0].length > trimIndent)
          chompStart = i + 1;
      }
      let value = "";
      let sep = "";
      let prevMoreIndented = false;
      for (let i = 0; i < contentStart; ++i)
        value += lines[i][0].slice(trimIndent) + "\n";
      for (let i = contentStart; i < chompStart; ++i) {
        let [indent, content] = lines[i];
        offset += indent.length + content.length + 1;
        const crlf = content[content.length - 1] === "\r";
        if (crlf)
          content = content.slice(0, -1);
        if (content && indent.length < trimIndent) {
          const src = header.indent ? "explicit indentation indicator" : "first line";
          const message = `Block scalar lines must not be less indented than their ${src}`;
          onError(offset - content.length - (crlf ? 2 : 1), "BAD_INDENT", message);
          indent = "";
        }
        if (type === Scalar.Scalar.BLOCK_LITERAL) {
          value += sep + indent.slice(trimIndent) + content;
          sep = "\n";
        } else if (indent.length > trimIndent || content[0] === "	") {
          if (sep === " ")
            sep = "\n";
          else if (!prevMoreIndented && sep === "\n")
            sep = "\n\n";
          value += sep + indent.slice(trimIndent) + content;
          sep = "\n";
          prevMoreIndented = true;
        } else if (content === "") {
          if (sep === "\n")
            value += "\n";
          else
            sep = "\n";
        } else {
          value += sep + content;
          sep = " ";
          prevMoreIndented = false;
        }
      }
      switch (header.chomp) {
        case "-":
          break;
        case "+":
          for (let i = chompStart; i < lines.length; ++i)
            value += "\n" + lines[i][0].slice(trimIndent);
          if (value[value.length - 1] !== "\n")
            value += "\n";
          break;
        default:
          value += "\n";
      }
      const end = start + header.length + scalar.source.length;
      return { value, type, comment: header.comment, range: [start, end, end] };
    }
    function parseBlockScalarHeader({ offset, props }, strict, onError) {
      if (props[0].type !== "block-scalar-header") {
        onError(props[0], "IMPOSSIBLE", "Block scalar header not found");
        return null;
      }
      const { source } = props[0];
      const mode = source[0];
      let indent = 0;
      let chomp = "";
      let error2 = -1;
      for (let i = 1; i < source.length; ++i) {
        const ch = source[i];
        if (!chomp && (ch === "-" || ch === "+"))
          chomp = ch;
        else {
          const n = Number(ch);
          if (!indent && n)
            indent = n;
          else if (error2 === -1)
            error2 = offset + i;
        }
      }
      if (error2 !== -1)
        onError(error2, "UNEXPECTED_TOKEN", `Block scalar header includes extra characters: ${source}`);
      let hasSpace = false;
      let comment = "";
      let length = source.length;
      for (let i = 1; i < props.length; ++i) {
        const token = props[i];
        switch (token.type) {
          case "space":
            hasSpace = true;
          // fallthrough
          case "newline":
            length += token.source.length;
            break;
          case "comment":
            if (strict && !hasSpace) {
              const message = "Comments must be separated from other tokens by white space characters";
              onError(token, "MISSING_CHAR", message);
            }
            length += token.source.length;
            comment = token.source.substring(1);
            break;
          case "error":
            onError(token, "UNEXPECTED_TOKEN", token.message);
            length += token.source.length;
            break;
          /* istanbul ignore next should not happen */
          default: {
            const message = `Unexpected token in block scalar header: ${token.type}`;
            onError(token, "UNEXPECTED_TOKEN", message);
            const ts = token.source;
            if (ts && typeof ts === "string")
              length += ts.length;
          }
        }
      }
      return { mode, indent, chomp, comment, length };
    }
    function splitLines(source) {
      const split = source.split(/\n( *)/);
      const first = split[0];
      const m = first.match(/^( *)/);
      const line0 = m?.[1] ? [m[1], first.slice(m[1].length)] : ["", first];
      const lines = [line0];
      for (let i = 1; i < split.length; i += 2)
        lines.push([split[i], split[i + 1]]);
      return lines;
    }
    exports.resolveBlockScalar = resolveBlockScalar;
  }
});

// node_modules/yaml/dist/compose/resolve-flow-scalar.js
var require_resolve_flow_scalar = __commonJS({
  "node_modules/yaml/dist/compose/resolve-flow-scalar.js"(exports) {
    "use strict";
    var Scalar = require_Scalar();
    var resolveEnd = require_resolve_end();
    function resolveFlowScalar(scalar, strict, onError) {
      const { offset, type, source, end } = scalar;
      let _type;
      let value;
      const _onError = (rel, code, msg) => onError(offset + rel, code, msg);
      switch (type) {
        case "scalar":
          _type = Scalar.Scalar.PLAIN;
          value = plainValue(source, _onError);
          break;
        case "single-quoted-scalar":
          _type = Scalar.Scalar.QUOTE_SINGLE;
          value = singleQuotedValue(source, _onError);
          break;
        case "double-quoted-scalar":
          _type = Scalar.Scalar.QUOTE_DOUBLE;
          value = doubleQuotedValue(source, _onError);
          break;
        /* istanbul ignore next should not happen */
        default:
          onError(scalar, "UNEXPECTED_TOKEN", `Expected a flow scalar value, but found: ${type}`);
          return {
            value: "",
            type: null,
            comment: "",
            range: [offset, offset + source.length, offset + source.length]
          };
      }
      const valueEnd = offset + source.length;
      const re = resolveEnd.resolveEnd(end, valueEnd, strict, onError);
      return {
        value,
        type: _type,
        comment: re.comment,
        range: [offset, valueEnd, re.offset]
      };
    }
    function plainValue(source, onError) {
      let badChar = "";
      switch (source[0]) {
        /* istanbul ignore next should not happen */
        case "	":
          badChar = "a tab character";
          break;
        case ",":
          badChar = "flow indicator character ,";
          break;
        case "%":
          badChar = "directive indicator character %";
          break;
        case "|":
        case ">": {
          badChar = `block scalar indicator ${source[0]}`;
          break;
        }
        case "@":
        case "`": {
          badChar = `reserved character ${source[0]}`;
          break;
        }
      }
      if (badChar)
        onError(0, "BAD_SCALAR_START", `Plain value cannot start with ${badChar}`);
      return unfoldLines(source);
    }
    function singleQuotedValue(source, onError) {
      if (source[source.length - 1] !== "'" || source.length === 1)
        onError(source.length, "MISSING_CHAR", "Missing closing 'quote");
      return unfoldLines(source.slice(1, -1)).replace(/''/g, "'");
    }
    function unfoldLines(source) {
      const line = /(.*?)\r?\n/sy;
      let match = line.exec(source);
      if (!match)
        return source;
      let trimEnd, trimBoth;
      try {
        trimEnd = new RegExp("(?<![ 	])[ 	]+$");
        trimBoth = new RegExp("^[ 	]+|(?<![ 	])[ 	]+$", "g");
      } catch {
        trimEnd = /[ \t]+$/;
        trimBoth = /^[ \t]+|[ \t]+$/g;
      }
      let res = match[1].replace(trimEnd, "");
      let sep = " ";
      let pos = line.lastIndex;
      while (match = line.exec(source)) {
        const lm = match[1].replace(trimBoth, "");
        if (lm === "") {
          if (sep === "\n")
            res += sep;
          else
            sep = "\n";
        } else {
          res += sep + lm;
          sep = " ";
        }
        pos = line.lastIndex;
      }
      const last = /[ \t]*(.*)/sy;
      last.lastIndex = pos;
      match = last.exec(source);
      return res + sep + (match?.[1] ?? "");
    }
    function doubleQuotedValue(source, onError) {
      let res = "";
      for (let i = 1; i < source.length - 1; ++i) {
        const ch = source[i];
        if (ch === "\r" && source[i + 1] === "\n")
          continue;
        if (ch === "\n") {
          const { fold, offset } = foldNewline(source, i);
          res += fold;
          i = offset;
        } else if (ch === "\\") {
          let next = source[++i];
          const cc = escapeCodes[next];
          if (cc)
            res += cc;
          else if (next === "\n") {
            next = source[i + 1];
            while (next === " " || next === "	")
              next = source[++i + 1];
          } else if (next === "\r" && source[i + 1] === "\n") {
            next = source[++i + 1];
            while (next === " " || next === "	")
              next = source[++i + 1];
          } else if (next === "x" || next === "u" || next === "U") {
            const length = next === "x" ? 2 : next === "u" ? 4 : 8;
            res += parseCharCode(source, i + 1, length, onError);
            i += length;
          } else {
            const raw = source.substr(i - 1, 2);
            onError(i - 1, "BAD_DQ_ESCAPE", `Invalid escape sequence ${raw}`);
            res += raw;
          }
        } else if (ch === " " || ch === "	") {
          const wsStart = i;
          let next = source[i + 1];
          while (next === " " || next === "	")
            next = source[++i + 1];
          if (next !== "\n" && !(next === "\r" && source[i + 2] === "\n"))
            res += i > wsStart ? source.slice(wsStart, i + 1) : ch;
        } else {
          res += ch;
        }
      }
      if (source[source.length - 1] !== '"' || source.length === 1)
        onError(source.length, "MISSING_CHAR", 'Missing closing "quote');
      return res;
    }
    function foldNewline(source, offset) {
      let fold = "";
      let ch = source[offset + 1];
      while (ch === " " || ch === "	" || ch === "\n" || ch === "\r") {
        if (ch === "\r" && source[offset + 2] !== "\n")
          break;
        if (ch === "\n")
          fold += "\n";
        offset += 1;
        ch = source[offset + 1];
      }
      if (!fold)
        fold = " ";
      return { fold, offset };
    }
    var escapeCodes = {
      "0": "\0",
      // null character
      a: "\x07",
      // bell character
      b: "\b",
      // backspace
      e: "\x1B",
      // escape character
      f: "\f",
      // form feed
      n: "\n",
      // line feed
      r: "\r",
      // carriage return
      t: "	",
      // horizontal tab
      v: "\v",
      // vertical tab
      N: "",
      // Unicode next line
      _: " ",
      // Unicode non-breaking space
      L: "\u2028",
      // Unicode line separator
      P: "\u2029",
      // Unicode paragraph separator
      " ": " ",
      '"': '"',
      "/": "/",
      "\\": "\\",
      "	": "	"
    };
    function parseCharCode(source, offset, length, onError) {
      const cc = source.substr(offset, length);
      const ok = cc.length === length && /^[0-9a-fA-F]+$/.test(cc);
      const code = ok ? parseInt(cc, 16) : NaN;
      try {
        return String.fromCodePoint(code);
      } catch {
        const raw = source.substr(offset - 2, length + 2);
        onError(offset - 2, "BAD_DQ_ESCAPE", `Invalid escape sequence ${raw}`);
        return raw;
      }
    }
    exports.resolveFlowScalar = resolveFlowScalar;
  }
});

// node_modules/yaml/dist/compose/compose-scalar.js
var require_compose_scalar = __commonJS({
  "node_modules/yaml/dist/compose/compose-scalar.js"(exports) {
    "use strict";
    var identity = require_identity();
    var Scalar = require_Scalar();
    var resolveBlockScalar = require_resolve_block_scalar();
    var resolveFlowScalar = require_resolve_flow_scalar();
    function composeScalar(ctx, token, tagToken, onError) {
      const { value, type, comment, range } = token.type === "block-scalar" ? resolveBlockScalar.resolveBlockScalar(ctx, token, onError) : resolveFlowScalar.resolveFlowScalar(token, ctx.options.strict, onError);
      const tagName = tagToken ? ctx.directives.tagName(tagToken.source, (msg) => onError(tagToken, "TAG_RESOLVE_FAILED", msg)) : null;
      let tag;
      if (ctx.options.stringKeys && ctx.atKey) {
        tag = ctx.schema[identity.SCALAR];
      } else if (tagName)
        tag = findScalarTagByName(ctx.schema, value, tagName, tagToken, onError);
      else if (token.type === "scalar")
        tag = findScalarTagByTest(ctx, value, token, onError);
      else
        tag = ctx.schema[identity.SCALAR];
      let scalar;
      try {
        const res = tag.resolve(value, (msg) => onError(tagToken ?? token, "TAG_RESOLVE_FAILED", msg), ctx.options);
        scalar = identity.isScalar(res) ? res : new Scalar.Scalar(res);
      } catch (error2) {
        const msg = error2 instanceof Error ? error2.message : String(error2);
        onError(tagToken ?? token, "TAG_RESOLVE_FAILED", msg);
        scalar = new Scalar.Scalar(value);
      }
      scalar.range = range;
      scalar.source = value;
      if (type)
        scalar.type = type;
      if (tagName)
        scalar.tag = tagName;
      if (tag.format)
        scalar.format = tag.format;
      if (comment)
        scalar.comment = comment;
      return scalar;
    }
    function findScalarTagByName(schema, value, tagName, tagToken, onError) {
      if (tagName === "!")
        return schema[identity.SCALAR];
      const matchWithTest = [];
      for (const tag of schema.tags) {
        if (!tag.collection && tag.tag === tagName) {
          if (tag.default && tag.test)
            matchWithTest.push(tag);
          else
            return tag;
        }
      }
      for (const tag of matchWithTest)
        if (tag.test?.test(value))
          return tag;
      const kt = schema.knownTags[tagName];
      if (kt && !kt.collection) {
        schema.tags.push(Object.assign({}, kt, { default: false, test: void 0 }));
        return kt;
      }
      onError(tagToken, "TAG_RESOLVE_FAILED", `Unresolved tag: ${tagName}`, tagName !== "tag:yaml.org,2002:str");
      return schema[identity.SCALAR];
    }
    function findScalarTagByTest({ atKey, directives, schema }, value, token, onError) {
      const tag = schema.tags.find((tag2) => (tag2.default === true || atKey && tag2.default === "key") && tag2.test?.test(value)) || schema[identity.SCALAR];
      if (schema.compat) {
        const compat = schema.compat.find((tag2) => tag2.default && tag2.test?.test(value)) ?? schema[identity.SCALAR];
        if (tag.tag !== compat.tag) {
          const ts = directives.tagString(tag.tag);
          const cs = directives.tagString(compat.tag);
          const msg = `Value may be parsed as either ${ts} or ${cs}`;
          onError(token, "TAG_RESOLVE_FAILED", msg, true);
        }
      }
      return tag;
    }
    exports.composeScalar = composeScalar;
  }
});

// node_modules/yaml/dist/compose/util-empty-scalar-position.js
var require_util_empty_scalar_position = __commonJS({
  "node_modules/yaml/dist/compose/util-empty-scalar-position.js"(exports) {
    "use strict";
    function emptyScalarPosition(offset, before, pos) {
      if (before) {
        pos ?? (pos = before.length);
        for (let i = pos - 1; i >= 0; --i) {
          let st = before[i];
          switch (st.type) {
            case "space":
            case "comment":
            case "newline":
              offset -= st.source.length;
              continue;
          }
          st = before[++i];
          while (st?.type === "space") {
            offset += st.source.length;
            st = before[++i];
          }
          break;
        }
      }
      return offset;
    }
    exports.emptyScalarPosition = emptyScalarPosition;
  }
});

// node_modules/yaml/dist/compose/compose-node.js
var require_compose_node = __commonJS({
  "node_modules/yaml/dist/compose/compose-node.js"(exports) {
    "use strict";
    var Alias = require_Alias();
    var identity = require_identity();
    var composeCollection = require_compose_collection();
    var composeScalar = require_compose_scalar();
    var resolveEnd = require_resolve_end();
    var utilEmptyScalarPosition = require_util_empty_scalar_position();
    var CN = { composeNode, composeEmptyNode };
    function composeNode(ctx, token, props, onError) {
      const atKey = ctx.atKey;
      const { spaceBefore, comment, anchor, tag } = props;
      let node;
      let isSrcToken = true;
      switch (token.type) {
        case "alias":
          node = composeAlias(ctx, token, onError);
          if (anchor || tag)
            onError(token, "ALIAS_PROPS", "An alias node must not specify any properties");
          break;
        case "scalar":
        case "single-quoted-scalar":
        case "double-quoted-scalar":
        case "block-scalar":
          node = composeScalar.composeScalar(ctx, token, tag, onError);
          if (anchor)
            node.anchor = anchor.source.substring(1);
          break;
        case "block-map":
        case "block-seq":
        case "flow-collection":
          try {
            node = composeCollection.composeCollection(CN, ctx, token, props, onError);
            if (anchor)
              node.anchor = anchor.source.substring(1);
          } catch (error2) {
            const message = error2 instanceof Error ? error2.message : String(error2);
            onError(token, "RESOURCE_EXHAUSTION", message);
          }
          break;
        default: {
          const message = token.type === "error" ? token.message : `Unsupported token (type: ${token.type})`;
          onError(token, "UNEXPECTED_TOKEN", message);
          isSrcToken = false;
        }
      }
      node ?? (node = composeEmptyNode(ctx, token.offset, void 0, null, props, onError));
      if (anchor && node.anchor === "")
        onError(anchor, "BAD_ALIAS", "Anchor cannot be an empty string");
      if (atKey && ctx.options.stringKeys && (!identity.isScalar(node) || typeof node.value !== "string" || node.tag && node.tag !== "tag:yaml.org,2002:str")) {
        const msg = "With stringKeys, all keys must be strings";
        onError(tag ?? token, "NON_STRING_KEY", msg);
      }
      if (spaceBefore)
        node.spaceBefore = true;
      if (comment) {
        if (token.type === "scalar" && token.source === "")
          node.comment = comment;
        else
          node.commentBefore = comment;
      }
      if (ctx.options.keepSourceTokens && isSrcToken)
        node.srcToken = token;
      return node;
    }
    function composeEmptyNode(ctx, offset, before, pos, { spaceBefore, comment, anchor, tag, end }, onError) {
      const token = {
        type: "scalar",
        offset: utilEmptyScalarPosition.emptyScalarPosition(offset, before, pos),
        indent: -1,
        source: ""
      };
      const node = composeScalar.composeScalar(ctx, token, tag, onError);
      if (anchor) {
        node.anchor = anchor.source.substring(1);
        if (node.anchor === "")
          onError(anchor, "BAD_ALIAS", "Anchor cannot be an empty string");
      }
      if (spaceBefore)
        node.spaceBefore = true;
      if (comment) {
        node.comment = comment;
        node.range[2] = end;
      }
      return node;
    }
    function composeAlias({ options }, { offset, source, end }, onError) {
      const alias = new Alias.Alias(source.substring(1));
      if (alias.source === "")
        onError(offset, "BAD_ALIAS", "Alias cannot be an empty string");
      if (alias.source.endsWith(":"))
        onError(offset + source.length - 1, "BAD_ALIAS", "Alias ending in : is ambiguous", true);
      const valueEnd = offset + source.length;
      const re = resolveEnd.resolveEnd(end, valueEnd, options.strict, onError);
      alias.range = [offset, valueEnd, re.offset];
      if (re.comment)
        alias.comment = re.comment;
      return alias;
    }
    exports.composeEmptyNode = composeEmptyNode;
    exports.composeNode = composeNode;
  }
});

// node_modules/yaml/dist/compose/compose-doc.js
var require_compose_doc = __commonJS({
  "node_modules/yaml/dist/compose/compose-doc.js"(exports) {
    "use strict";
    var Document = require_Document();
    var composeNode = require_compose_node();
    var resolveEnd = require_resolve_end();
    var resolveProps = require_resolve_props();
    function composeDoc(options, directives, { offset, start, value, end }, onError) {
      const opts = Object.assign({ _directives: directives }, options);
      const doc = new Document.Document(void 0, opts);
      const ctx = {
        atKey: false,
        atRoot: true,
        directives: doc.directives,
        options: doc.options,
        schema: doc.schema
      };
      const props = resolveProps.resolveProps(start, {
        indicator: "doc-start",
        next: value ?? end?.[0],
        offset,
        onError,
        parentIndent: 0,
        startOnNewline: true
      });
      if (props.found) {
        doc.directives.docStart = true;
        if (value && (value.type === "block-map" || value.type === "block-seq") && !props.hasNewline)
          onError(props.end, "MISSING_CHAR", "Block collection cannot start on same line with directives-end marker");
      }
      doc.contents = value ? composeNode.composeNode(ctx, value, props, onError) : composeNode.composeEmptyNode(ctx, props.end, start, null, props, onError);
      const contentEnd = doc.contents.range[2];
      const re = resolveEnd.resolveEnd(end, contentEnd, false, onError);
      if (re.comment)
        doc.comment = re.comment;
      doc.range = [offset, contentEnd, re.offset];
      return doc;
    }
    exports.composeDoc = composeDoc;
  }
});

// node_modules/yaml/dist/compose/composer.js
var require_composer = __commonJS({
  "node_modules/yaml/dist/compose/composer.js"(exports) {
    "use strict";
    var node_process = __require("process");
    var directives = require_directives();
    var Document = require_Document();
    var errors = require_errors();
    var identity = require_identity();
    var composeDoc = require_compose_doc();
    var resolveEnd = require_resolve_end();
    function getErrorPos(src) {
      if (typeof src === "number")
        return [src, src + 1];
      if (Array.isArray(src))
        return src.length === 2 ? src : [src[0], src[1]];
      const { offset, source } = src;
      return [offset, offset + (typeof source === "string" ? source.length : 1)];
    }
    function parsePrelude(prelude) {
      let comment = "";
      let atComment = false;
      let afterEmptyLine = false;
      for (let i = 0; i < prelude.length; ++i) {
        const source = prelude[i];
        switch (source[0]) {
          case "#":
            comment += (comment === "" ? "" : afterEmptyLine ? "\n\n" : "\n") + (source.substring(1) || " ");
            atComment = true;
            afterEmptyLine = false;
            break;
          case "%":
            if (prelude[i + 1]?.[0] !== "#")
              i += 1;
            atComment = false;
            break;
          default:
            if (!atComment)
              afterEmptyLine = true;
            atComment = false;
        }
      }
      return { comment, afterEmptyLine };
    }
    var Composer = class {
      constructor(options = {}) {
        this.doc = null;
        this.atDirectives = false;
        this.prelude = [];
        this.errors = [];
        this.warnings = [];
        this.onError = (source, code, message, warning2) => {
          const pos = getErrorPos(source);
          if (warning2)
            this.warnings.push(new errors.YAMLWarning(pos, code, message));
          else
            this.errors.push(new errors.YAMLParseError(pos, code, message));
        };
        this.directives = new directives.Directives({ version: options.version || "1.2" });
        this.options = options;
      }
      decorate(doc, afterDoc) {
        const { comment, afterEmptyLine } = parsePrelude(this.prelude);
        if (comment) {
          const dc = doc.contents;
          if (afterDoc) {
            doc.comment = doc.comment ? `${doc.comment}
${comment}` : comment;
          } else if (afterEmptyLine || doc.directives.docStart || !dc) {
            doc.commentBefore = comment;
          } else if (identity.isCollection(dc) && !dc.flow && dc.items.length > 0) {
            let it = dc.items[0];
            if (identity.isPair(it))
              it = it.key;
            const cb = it.commentBefore;
            it.commentBefore = cb ? `${comment}
${cb}` : comment;
          } else {
            const cb = dc.commentBefore;
            dc.commentBefore = cb ? `${comment}
${cb}` : comment;
          }
        }
        if (afterDoc) {
          for (let i = 0; i < this.errors.length; ++i)
            doc.errors.push(this.errors[i]);
          for (let i = 0; i < this.warnings.length; ++i)
            doc.warnings.push(this.warnings[i]);
        } else {
          doc.errors = this.errors;
          doc.warnings = this.warnings;
        }
        this.prelude = [];
        this.errors = [];
        this.warnings = [];
      }
      /**
       * Current stream status information.
       *
       * Mostly useful at the end of input for an empty stream.
       */
      streamInfo() {
        return {
          comment: parsePrelude(this.prelude).comment,
          directives: this.directives,
          errors: this.errors,
          warnings: this.warnings
        };
      }
      /**
       * Compose tokens into documents.
       *
       * @param forceDoc - If the stream contains no document, still emit a final document including any comments and directives that would be applied to a subsequent document.
       * @param endOffset - Should be set if `forceDoc` is also set, to set the document range end and to indicate errors correctly.
       */
      *compose(tokens, forceDoc = false, endOffset = -1) {
        for (const token of tokens)
          yield* this.next(token);
        yield* this.end(forceDoc, endOffset);
      }
      /** Advance the composer by one CST token. */
      *next(token) {
        if (node_process.env.LOG_STREAM)
          console.dir(token, { depth: null });
        switch (token.type) {
          case "directive":
            this.directives.add(token.source, (offset, message, warning2) => {
              const pos = getErrorPos(token);
              pos[0] += offset;
              this.onError(pos, "BAD_DIRECTIVE", message, warning2);
            });
            this.prelude.push(token.source);
            this.atDirectives = true;
            break;
          case "document": {
            const doc = composeDoc.composeDoc(this.options, this.directives, token, this.onError);
            if (this.atDirectives && !doc.directives.docStart)
              this.onError(token, "MISSING_CHAR", "Missing directives-end/doc-start indicator line");
            this.decorate(doc, false);
            if (this.doc)
              yield this.doc;
            this.doc = doc;
            this.atDirectives = false;
            break;
          }
          case "byte-order-mark":
          case "space":
            break;
          case "comment":
          case "newline":
            this.prelude.push(token.source);
            break;
          case "error": {
            const msg = token.source ? `${token.message}: ${JSON.stringify(token.source)}` : token.message;
            const error2 = new errors.YAMLParseError(getErrorPos(token), "UNEXPECTED_TOKEN", msg);
            if (this.atDirectives || !this.doc)
              this.errors.push(error2);
            else
              this.doc.errors.push(error2);
            break;
          }
          case "doc-end": {
            if (!this.doc) {
              const msg = "Unexpected doc-end without preceding document";
              this.errors.push(new errors.YAMLParseError(getErrorPos(token), "UNEXPECTED_TOKEN", msg));
              break;
            }
            this.doc.directives.docEnd = true;
            const end = resolveEnd.resolveEnd(token.end, token.offset + token.source.length, this.doc.options.strict, this.onError);
            this.decorate(this.doc, true);
            if (end.comment) {
              const dc = this.doc.comment;
              this.doc.comment = dc ? `${dc}
${end.comment}` : end.comment;
            }
            this.doc.range[2] = end.offset;
            break;
          }
          default:
            this.errors.push(new errors.YAMLParseError(getErrorPos(token), "UNEXPECTED_TOKEN", `Unsupported token ${token.type}`));
        }
      }
      /**
       * Call at end of input to yield any remaining document.
       *
       * @param forceDoc - If the stream contains no document, still emit a final document including any comments and directives that would be applied to a subsequent document.
       * @param endOffset - Should be set if `forceDoc` is also set, to set the document range end and to indicate errors correctly.
       */
      *end(forceDoc = false, endOffset = -1) {
        if (this.doc) {
          this.decorate(this.doc, true);
          yield this.doc;
          this.doc = null;
        } else if (forceDoc) {
          const opts = Object.assign({ _directives: this.directives }, this.options);
          const doc = new Document.Document(void 0, opts);
          if (this.atDirectives)
            this.onError(endOffset, "MISSING_CHAR", "Missing directives-end indicator line");
          doc.range = [0, endOffset, endOffset];
          this.decorate(doc, false);
          yield doc;
        }
      }
    };
    exports.Composer = Composer;
  }
});

// node_modules/yaml/dist/parse/cst-scalar.js
var require_cst_scalar = __commonJS({
  "node_modules/yaml/dist/parse/cst-scalar.js"(exports) {
    "use strict";
    var resolveBlockScalar = require_resolve_block_scalar();
    var resolveFlowScalar = require_resolve_flow_scalar();
    var errors = require_errors();
    var stringifyString = require_stringifyString();
    function resolveAsScalar(token, strict = true, onError) {
      if (token) {
        const _onError = (pos, code, message) => {
          const offset = typeof pos === "number" ? pos : Array.isArray(pos) ? pos[0] : pos.offset;
          if (onError)
            onError(offset, code, message);
          else
            throw new errors.YAMLParseError([offset, offset + 1], code, message);
        };
        switch (token.type) {
          case "scalar":
          case "single-quoted-scalar":
          case "double-quoted-scalar":
            return resolveFlowScalar.resolveFlowScalar(token, strict, _onError);
          case "block-scalar":
            return resolveBlockScalar.resolveBlockScalar({ options: { strict } }, token, _onError);
        }
      }
      return null;
    }
    function createScalarToken(value, context) {
      const { implicitKey = false, indent, inFlow = false, offset = -1, type = "PLAIN" } = context;
      const source = stringifyString.stringifyString({ type, value }, {
        implicitKey,
        indent: indent > 0 ? " ".repeat(indent) : "",
        inFlow,
        options: { blockQuote: true, lineWidth: -1 }
      });
      const end = context.end ?? [
        { type: "newline", offset: -1, indent, source: "\n" }
      ];
      switch (source[0]) {
        case "|":
        case ">": {
          const he = source.indexOf("\n");
          const head = source.substring(0, he);
          const body = source.substring(he + 1) + "\n";
          const props = [
            { type: "block-scalar-header", offset, indent, source: head }
          ];
          if (!addEndtoBlockProps(props, end))
            props.push({ type: "newline", offset: -1, indent, source: "\n" });
          return { type: "block-scalar", offset, indent, props, source: body };
        }
        case '"':
          return { type: "double-quoted-scalar", offset, indent, source, end };
        case "'":
          return { type: "single-quoted-scalar", offset, indent, source, end };
        default:
          return { type: "scalar", offset, indent, source, end };
      }
    }
    function setScalarValue(token, value, context = {}) {
      let { afterKey = false, implicitKey = false, inFlow = false, type } = context;
      let indent = "indent" in token ? token.indent : null;
      if (afterKey && typeof indent === "number")
        indent += 2;
      if (!type)
        switch (token.type) {
          case "single-quoted-scalar":
            type = "QUOTE_SINGLE";
            break;
          case "double-quoted-scalar":
            type = "QUOTE_DOUBLE";
            break;
          case "block-scalar": {
            const header = token.props[0];
            if (header.type !== "block-scalar-header")
              throw new Error("Invalid block scalar header");
            type = header.source[0] === ">" ? "BLOCK_FOLDED" : "BLOCK_LITERAL";
            break;
          }
          default:
            type = "PLAIN";
        }
      const source = stringifyString.stringifyString({ type, value }, {
        implicitKey: implicitKey || indent === null,
        indent: indent !== null && indent > 0 ? " ".repeat(indent) : "",
        inFlow,
        options: { blockQuote: true, lineWidth: -1 }
      });
      switch (source[0]) {
        case "|":
        case ">":
          setBlockScalarValue(token, source);
          break;
        case '"':
          setFlowScalarValue(token, source, "double-quoted-scalar");
          break;
        case "'":
          setFlowScalarValue(token, source, "single-quoted-scalar");
          break;
        default:
          setFlowScalarValue(token, source, "scalar");
      }
    }
    function setBlockScalarValue(token, source) {
      const he = source.indexOf("\n");
      const head = source.substring(0, he);
      const body = source.substring(he + 1) + "\n";
      if (token.type === "block-scalar") {
        const header = token.props[0];
        if (header.type !== "block-scalar-header")
          throw new Error("Invalid block scalar header");
        header.source = head;
        token.source = body;
      } else {
        const { offset } = token;
        const indent = "indent" in token ? token.indent : -1;
        const props = [
          { type: "block-scalar-header", offset, indent, source: head }
        ];
        if (!addEndtoBlockProps(props, "end" in token ? token.end : void 0))
          props.push({ type: "newline", offset: -1, indent, source: "\n" });
        for (const key of Object.keys(token))
          if (key !== "type" && key !== "offset")
            delete token[key];
        Object.assign(token, { type: "block-scalar", indent, props, source: body });
      }
    }
    function addEndtoBlockProps(props, end) {
      if (end)
        for (const st of end)
          switch (st.type) {
            case "space":
            case "comment":
              props.push(st);
              break;
            case "newline":
              props.push(st);
              return true;
          }
      return false;
    }
    function setFlowScalarValue(token, source, type) {
      switch (token.type) {
        case "scalar":
        case "double-quoted-scalar":
        case "single-quoted-scalar":
          token.type = type;
          token.source = source;
          break;
        case "block-scalar": {
          const end = token.props.slice(1);
          let oa = source.length;
          if (token.props[0].type === "block-scalar-header")
            oa -= token.props[0].source.length;
          for (const tok of end)
            tok.offset += oa;
          delete token.props;
          Object.assign(token, { type, source, end });
          break;
        }
        case "block-map":
        case "block-seq": {
          const offset = token.offset + source.length;
          const nl = { type: "newline", offset, indent: token.indent, source: "\n" };
          delete token.items;
          Object.assign(token, { type, source, end: [nl] });
          break;
        }
        default: {
          const indent = "indent" in token ? token.indent : -1;
          const end = "end" in token && Array.isArray(token.end) ? token.end.filter((st) => st.type === "space" || st.type === "comment" || st.type === "newline") : [];
          for (const key of Object.keys(token))
            if (key !== "type" && key !== "offset")
              delete token[key];
          Object.assign(token, { type, indent, source, end });
        }
      }
    }
    exports.createScalarToken = createScalarToken;
    exports.resolveAsScalar = resolveAsScalar;
    exports.setScalarValue = setScalarValue;
  }
});

// node_modules/yaml/dist/parse/cst-stringify.js
var require_cst_stringify = __commonJS({
  "node_modules/yaml/dist/parse/cst-stringify.js"(exports) {
    "use strict";
    var stringify = (cst) => "type" in cst ? stringifyToken(cst) : stringifyItem(cst);
    function stringifyToken(token) {
      switch (token.type) {
        case "block-scalar": {
          let res = "";
          for (const tok of token.props)
            res += stringifyToken(tok);
          return res + token.source;
        }
        case "block-map":
        case "block-seq": {
          let res = "";
          for (const item of token.items)
            res += stringifyItem(item);
          return res;
        }
        case "flow-collection": {
          let res = token.start.source;
          for (const item of token.items)
            res += stringifyItem(item);
          for (const st of token.end)
            res += st.source;
          return res;
        }
        case "document": {
          let res = stringifyItem(token);
          if (token.end)
            for (const st of token.end)
              res += st.source;
          return res;
        }
        default: {
          let res = token.source;
          if ("end" in token && token.end)
            for (const st of token.end)
              res += st.source;
          return res;
        }
      }
    }
    function stringifyItem({ start, key, sep, value }) {
      let res = "";
      for (const st of start)
        res += st.source;
      if (key)
        res += stringifyToken(key);
      if (sep)
        for (const st of sep)
          res += st.source;
      if (value)
        res += stringifyToken(value);
      return res;
    }
    exports.stringify = stringify;
  }
});

// node_modules/yaml/dist/parse/cst-visit.js
var require_cst_visit = __commonJS({
  "node_modules/yaml/dist/parse/cst-visit.js"(exports) {
    "use strict";
    var BREAK = /* @__PURE__ */ Symbol("break visit");
    var SKIP = /* @__PURE__ */ Symbol("skip children");
    var REMOVE = /* @__PURE__ */ Symbol("remove item");
    function visit(cst, visitor) {
      if ("type" in cst && cst.type === "document")
        cst = { start: cst.start, value: cst.value };
      _visit(Object.freeze([]), cst, visitor);
    }
    visit.BREAK = BREAK;
    visit.SKIP = SKIP;
    visit.REMOVE = REMOVE;
    visit.itemAtPath = (cst, path7) => {
      let item = cst;
      for (const [field, index] of path7) {
        const tok = item?.[field];
        if (tok && "items" in tok) {
          item = tok.items[index];
        } else
          return void 0;
      }
      return item;
    };
    visit.parentCollection = (cst, path7) => {
      const parent = visit.itemAtPath(cst, path7.slice(0, -1));
      const field = path7[path7.length - 1][0];
      const coll = parent?.[field];
      if (coll && "items" in coll)
        return coll;
      throw new Error("Parent collection not found");
    };
    function _visit(path7, item, visitor) {
      let ctrl = visitor(item, path7);
      if (typeof ctrl === "symbol")
        return ctrl;
      for (const field of ["key", "value"]) {
        const token = item[field];
        if (token && "items" in token) {
          for (let i = 0; i < token.items.length; ++i) {
            const ci2 = _visit(Object.freeze(path7.concat([[field, i]])), token.items[i], visitor);
            if (typeof ci2 === "number")
              i = ci2 - 1;
            else if (ci2 === BREAK)
              return BREAK;
            else if (ci2 === REMOVE) {
              token.items.splice(i, 1);
              i -= 1;
            }
          }
          if (typeof ctrl === "function" && field === "key")
            ctrl = ctrl(item, path7);
        }
      }
      return typeof ctrl === "function" ? ctrl(item, path7) : ctrl;
    }
    exports.visit = visit;
  }
});

// node_modules/yaml/dist/parse/cst.js
var require_cst = __commonJS({
  "node_modules/yaml/dist/parse/cst.js"(exports) {
    "use strict";
    var cstScalar = require_cst_scalar();
    var cstStringify = require_cst_stringify();
    var cstVisit = require_cst_visit();
    var BOM = "\uFEFF";
    var DOCUMENT = "";
    var FLOW_END = "";
    var SCALAR = "";
    var isCollection = (token) => !!token && "items" in token;
    var isScalar = (token) => !!token && (token.type === "scalar" || token.type === "single-quoted-scalar" || token.type === "double-quoted-scalar" || token.type === "block-scalar");
    function prettyToken(token) {
      switch (token) {
        case BOM:
          return "<BOM>";
        case DOCUMENT:
          return "<DOC>";
        case FLOW_END:
          return "<FLOW_END>";
        case SCALAR:
          return "<SCALAR>";
        default:
          return JSON.stringify(token);
      }
    }
    function tokenType(source) {
      switch (source) {
        case BOM:
          return "byte-order-mark";
        case DOCUMENT:
          return "doc-mode";
        case FLOW_END:
          return "flow-error-end";
        case SCALAR:
          return "scalar";
        case "---":
          return "doc-start";
        case "...":
          return "doc-end";
        case "":
        case "\n":
        case "\r\n":
          return "newline";
        case "-":
          return "seq-item-ind";
        case "?":
          return "explicit-key-ind";
        case ":":
          return "map-value-ind";
        case "{":
          return "flow-map-start";
        case "}":
          return "flow-map-end";
        case "[":
          return "flow-seq-start";
        case "]":
          return "flow-seq-end";
        case ",":
          return "comma";
      }
      switch (source[0]) {
        case " ":
        case "	":
          return "space";
        case "#":
          return "comment";
        case "%":
          return "directive-line";
        case "*":
          return "alias";
        case "&":
          return "anchor";
        case "!":
          return "tag";
        case "'":
          return "single-quoted-scalar";
        case '"':
          return "double-quoted-scalar";
        case "|":
        case ">":
          return "block-scalar-header";
      }
      return null;
    }
    exports.createScalarToken = cstScalar.createScalarToken;
    exports.resolveAsScalar = cstScalar.resolveAsScalar;
    exports.setScalarValue = cstScalar.setScalarValue;
    exports.stringify = cstStringify.stringify;
    exports.visit = cstVisit.visit;
    exports.BOM = BOM;
    exports.DOCUMENT = DOCUMENT;
    exports.FLOW_END = FLOW_END;
    exports.SCALAR = SCALAR;
    exports.isCollection = isCollection;
    exports.isScalar = isScalar;
    exports.prettyToken = prettyToken;
    exports.tokenType = tokenType;
  }
});

// node_modules/yaml/dist/parse/lexer.js
var require_lexer = __commonJS({
  "node_modules/yaml/dist/parse/lexer.js"(exports) {
    "use strict";
    var cst = require_cst();
    function isEmpty(ch) {
      switch (ch) {
        case void 0:
        case " ":
        case "\n":
        case "\r":
        case "	":
          return true;
        default:
          return false;
      }
    }
    var hexDigits = new Set("0123456789ABCDEFabcdef");
    var tagChars = new Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-#;/?:@&=+$_.!~*'()");
    var flowIndicatorChars = new Set(",[]{}");
    var invalidAnchorChars = new Set(" ,[]{}\n\r	");
    var isNotAnchorChar = (ch) => !ch || invalidAnchorChars.has(ch);
    var Lexer = class {
      constructor() {
        this.atEnd = false;
        this.blockScalarIndent = -1;
        this.blockScalarKeep = false;
        this.buffer = "";
        this.flowKey = false;
        this.flowLevel = 0;
        this.indentNext = 0;
        this.indentValue = 0;
        this.lineEndPos = null;
        this.next = null;
        this.pos = 0;
      }
      /**
       * Generate YAML tokens from the `source` string. If `incomplete`,
       * a part of the last line may be left as a buffer for the next call.
       *
       * @returns A generator of lexical tokens
       */
      *lex(source, incomplete = false) {
        if (source) {
          if (typeof source !== "string")
            throw TypeError("source is not a string");
          this.buffer = this.buffer ? this.buffer + source : source;
          this.lineEndPos = null;
        }
        this.atEnd = !incomplete;
        let next = this.next ?? "stream";
        while (next && (incomplete || this.hasChars(1)))
          next = yield* this.parseNext(next);
      }
      atLineEnd() {
        let i = this.pos;
        let ch = this.buffer[i];
        while (ch === " " || ch === "	")
          ch = this.buffer[++i];
        if (!ch || ch === "#" || ch === "\n")
          return true;
        if (ch === "\r")
          return this.buffer[i + 1] === "\n";
        return false;
      }
      charAt(n) {
        return this.buffer[this.pos + n];
      }
      continueScalar(offset) {
        let ch = this.buffer[offset];
        if (this.indentNext > 0) {
          let indent = 0;
          while (ch === " ")
            ch = this.buffer[++indent + offset];
          if (ch === "\r") {
            const next = this.buffer[indent + offset + 1];
            if (next === "\n" || !next && !this.atEnd)
              return offset + indent + 1;
          }
          return ch === "\n" || indent >= this.indentNext || !ch && !this.atEnd ? offset + indent : -1;
        }
        if (ch === "-" || ch === ".") {
          const dt = this.buffer.substr(offset, 3);
          if ((dt === "---" || dt === "...") && isEmpty(this.buffer[offset + 3]))
            return -1;
        }
        return offset;
      }
      getLine() {
        let end = this.lineEndPos;
        if (typeof end !== "number" || end !== -1 && end < this.pos) {
          end = this.buffer.indexOf("\n", this.pos);
          this.lineEndPos = end;
        }
        if (end === -1)
          return this.atEnd ? this.buffer.substring(this.pos) : null;
        if (this.buffer[end - 1] === "\r")
          end -= 1;
        return this.buffer.substring(this.pos, end);
      }
      hasChars(n) {
        return this.pos + n <= this.buffer.length;
      }
      setNext(state) {
        this.buffer = this.buffer.substring(this.pos);
        this.pos = 0;
        this.lineEndPos = null;
        this.next = state;
        return null;
      }
      peek(n) {
        return this.buffer.substr(this.pos, n);
      }
      *parseNext(next) {
        switch (next) {
          case "stream":
            return yield* this.parseStream();
          case "line-start":
            return yield* this.parseLineStart();
          case "block-start":
            return yield* this.parseBlockStart();
          case "doc":
            return yield* this.parseDocument();
          case "flow":
            return yield* this.parseFlowCollection();
          case "quoted-scalar":
            return yield* this.parseQuotedScalar();
          case "block-scalar":
            return yield* this.parseBlockScalar();
          case "plain-scalar":
            return yield* this.parsePlainScalar();
        }
      }
      *parseStream() {
        let line = this.getLine();
        if (line === null)
          return this.setNext("stream");
        if (line[0] === cst.BOM) {
          yield* this.pushCount(1);
          line = line.substring(1);
        }
        if (line[0] === "%") {
          let dirEnd = line.length;
          let cs = line.indexOf("#");
          while (cs !== -1) {
            const ch = line[cs - 1];
            if (ch === " " || ch === "	") {
              dirEnd = cs - 1;
              break;
            } else {
              cs = line.indexOf("#", cs + 1);
            }
          }
          while (true) {
            const ch = line[dirEnd - 1];
            if (ch === " " || ch === "	")
              dirEnd -= 1;
            else
              break;
          }
          const n = (yield* this.pushCount(dirEnd)) + (yield* this.pushSpaces(true));
          yield* this.pushCount(line.length - n);
          this.pushNewline();
          return "stream";
        }
        if (this.atLineEnd()) {
          const sp = yield* this.pushSpaces(true);
          yield* this.pushCount(line.length - sp);
          yield* this.pushNewline();
          return "stream";
        }
        yield cst.DOCUMENT;
        return yield* this.parseLineStart();
      }
      *parseLineStart() {
        const ch = this.charAt(0);
        if (!ch && !this.atEnd)
          return this.setNext("line-start");
        if (ch === "-" || ch === ".") {
          if (!this.atEnd && !this.hasChars(4))
            return this.setNext("line-start");
          const s = this.peek(3);
          if ((s === "---" || s === "...") && isEmpty(this.charAt(3))) {
            yield* this.pushCount(3);
            this.indentValue = 0;
            this.indentNext = 0;
            return s === "---" ? "doc" : "stream";
          }
        }
        this.indentValue = yield* this.pushSpaces(false);
        if (this.indentNext > this.indentValue && !isEmpty(this.charAt(1)))
          this.indentNext = this.indentValue;
        return yield* this.parseBlockStart();
      }
      *parseBlockStart() {
        const [ch0, ch1] = this.peek(2);
        if (!ch1 && !this.atEnd)
          return this.setNext("block-start");
        if ((ch0 === "-" || ch0 === "?" || ch0 === ":") && isEmpty(ch1)) {
          const n = (yield* this.pushCount(1)) + (yield* this.pushSpaces(true));
          this.indentNext = this.indentValue + 1;
          this.indentValue += n;
          return "block-start";
        }
        return "doc";
      }
      *parseDocument() {
        yield* this.pushSpaces(true);
        const line = this.getLine();
        if (line === null)
          return this.setNext("doc");
        let n = yield* this.pushIndicators();
        switch (line[n]) {
          case "#":
            yield* this.pushCount(line.length - n);
          // fallthrough
          case void 0:
            yield* this.pushNewline();
            return yield* this.parseLineStart();
          case "{":
          case "[":
            yield* this.pushCount(1);
            this.flowKey = false;
            this.flowLevel = 1;
            return "flow";
          case "}":
          case "]":
            yield* this.pushCount(1);
            return "doc";
          case "*":
            yield* this.pushUntil(isNotAnchorChar);
            return "doc";
          case '"':
          case "'":
            return yield* this.parseQuotedScalar();
          case "|":
          case ">":
            n += yield* this.parseBlockScalarHeader();
            n += yield* this.pushSpaces(true);
            yield* this.pushCount(line.length - n);
            yield* this.pushNewline();
            return yield* this.parseBlockScalar();
          default:
            return yield* this.parsePlainScalar();
        }
      }
      *parseFlowCollection() {
        let nl, sp;
        let indent = -1;
        do {
          nl = yield* this.pushNewline();
          if (nl > 0) {
            sp = yield* this.pushSpaces(false);
            this.indentValue = indent = sp;
          } else {
            sp = 0;
          }
          sp += yield* this.pushSpaces(true);
        } while (nl + sp > 0);
        const line = this.getLine();
        if (line === null)
          return this.setNext("flow");
        if (indent !== -1 && indent < this.indentNext && line[0] !== "#" || indent === 0 && (line.startsWith("---") || line.startsWith("...")) && isEmpty(line[3])) {
          const atFlowEndMarker = indent === this.indentNext - 1 && this.flowLevel === 1 && (line[0] === "]" || line[0] === "}");
          if (!atFlowEndMarker) {
            this.flowLevel = 0;
            yield cst.FLOW_END;
            return yield* this.parseLineStart();
          }
        }
        let n = 0;
        while (line[n] === ",") {
          n += yield* this.pushCount(1);
          n += yield* this.pushSpaces(true);
          this.flowKey = false;
        }
        n += yield* this.pushIndicators();
        switch (line[n]) {
          case void 0:
            return "flow";
          case "#":
            yield* this.pushCount(line.length - n);
            return "flow";
          case "{":
          case "[":
            yield* this.pushCount(1);
            this.flowKey = false;
            this.flowLevel += 1;
            return "flow";
          case "}":
          case "]":
            yield* this.pushCount(1);
            this.flowKey = true;
            this.flowLevel -= 1;
            return this.flowLevel ? "flow" : "doc";
          case "*":
            yield* this.pushUntil(isNotAnchorChar);
            return "flow";
          case '"':
          case "'":
            this.flowKey = true;
            return yield* this.parseQuotedScalar();
          case ":": {
            const next = this.charAt(1);
            if (this.flowKey || isEmpty(next) || next === ",") {
              this.flowKey = false;
              yield* this.pushCount(1);
              yield* this.pushSpaces(true);
              return "flow";
            }
          }
          // fallthrough
          default:
            this.flowKey = false;
            return yield* this.parsePlainScalar();
        }
      }
      *parseQuotedScalar() {
        const quote = this.charAt(0);
        let end = this.buffer.indexOf(quote, this.pos + 1);
        if (quote === "'") {
          while (end !== -1 && this.buffer[end + 1] === "'")
            end = this.buffer.indexOf("'", end + 2);
        } else {
          while (end !== -1) {
            let n = 0;
            while (this.buffer[end - 1 - n] === "\\")
              n += 1;
            if (n % 2 === 0)
              break;
            end = this.buffer.indexOf('"', end + 1);
          }
        }
        const qb = this.buffer.substring(0, end);
        let nl = qb.indexOf("\n", this.pos);
        if (nl !== -1) {
          while (nl !== -1) {
            const cs = this.continueScalar(nl + 1);
            if (cs === -1)
              break;
            nl = qb.indexOf("\n", cs);
          }
          if (nl !== -1) {
            end = nl - (qb[nl - 1] === "\r" ? 2 : 1);
          }
        }
        if (end === -1) {
          if (!this.atEnd)
            return this.setNext("quoted-scalar");
          end = this.buffer.length;
        }
        yield* this.pushToIndex(end + 1, false);
        return this.flowLevel ? "flow" : "doc";
      }
      *parseBlockScalarHeader() {
        this.blockScalarIndent = -1;
        this.blockScalarKeep = false;
        let i = this.pos;
        while (true) {
          const ch = this.buffer[++i];
          if (ch === "+")
            this.blockScalarKeep = true;
          else if (ch > "0" && ch <= "9")
            this.blockScalarIndent = Number(ch) - 1;
          else if (ch !== "-")
            break;
        }
        return yield* this.pushUntil((ch) => isEmpty(ch) || ch === "#");
      }
      *parseBlockScalar() {
        let nl = this.pos - 1;
        let indent = 0;
        let ch;
        loop: for (let i2 = this.pos; ch = this.buffer[i2]; ++i2) {
          switch (ch) {
            case " ":
              indent += 1;
              break;
            case "\n":
              nl = i2;
              indent = 0;
              break;
            case "\r": {
              const next = this.buffer[i2 + 1];
              if (!next && !this.atEnd)
                return this.setNext("block-scalar");
              if (next === "\n")
                break;
            }
            // fallthrough
            default:
              break loop;
          }
        }
        if (!ch && !this.atEnd)
          return this.setNext("block-scalar");
        if (indent >= this.indentNext) {
          if (this.blockScalarIndent === -1)
            this.indentNext = indent;
          else {
            this.indentNext = this.blockScalarIndent + (this.indentNext === 0 ? 1 : this.indentNext);
          }
          do {
            const cs = this.continueScalar(nl + 1);
            if (cs === -1)
              break;
            nl = this.buffer.indexOf("\n", cs);
          } while (nl !== -1);
          if (nl === -1) {
            if (!this.atEnd)
              return this.setNext("block-scalar");
            nl = this.buffer.length;
          }
        }
        let i = nl + 1;
        ch = this.buffer[i];
        while (ch === " ")
          ch = this.buffer[++i];
        if (ch === "	") {
          while (ch === "	" || ch === " " || ch === "\r" || ch === "\n")
            ch = this.buffer[++i];
          nl = i - 1;
        } else if (!this.blockScalarKeep) {
          do {
            let i2 = nl - 1;
            let ch2 = this.buffer[i2];
            if (ch2 === "\r")
              ch2 = this.buffer[--i2];
            const lastChar = i2;
            while (ch2 === " ")
              ch2 = this.buffer[--i2];
            if (ch2 === "\n" && i2 >= this.pos && i2 + 1 + indent > lastChar)
              nl = i2;
            else
              break;
          } while (true);
        }
        yield cst.SCALAR;
        yield* this.pushToIndex(nl + 1, true);
        return yield* this.parseLineStart();
      }
      *parsePlainScalar() {
        const inFlow = this.flowLevel > 0;
        let end = this.pos - 1;
        let i = this.pos - 1;
        let ch;
        while (ch = this.buffer[++i]) {
          if (ch === ":") {
            const next = this.buffer[i + 1];
            if (isEmpty(next) || inFlow && flowIndicatorChars.has(next))
              break;
            end = i;
          } else if (isEmpty(ch)) {
            let next = this.buffer[i + 1];
            if (ch === "\r") {
              if (next === "\n") {
                i += 1;
                ch = "\n";
                next = this.buffer[i + 1];
              } else
                end = i;
            }
            if (next === "#" || inFlow && flowIndicatorChars.has(next))
              break;
            if (ch === "\n") {
              const cs = this.continueScalar(i + 1);
              if (cs === -1)
                break;
              i = Math.max(i, cs - 2);
            }
          } else {
            if (inFlow && flowIndicatorChars.has(ch))
              break;
            end = i;
          }
        }
        if (!ch && !this.atEnd)
          return this.setNext("plain-scalar");
        yield cst.SCALAR;
        yield* this.pushToIndex(end + 1, true);
        return inFlow ? "flow" : "doc";
      }
      *pushCount(n) {
        if (n > 0) {
          yield this.buffer.substr(this.pos, n);
          this.pos += n;
          return n;
        }
        return 0;
      }
      *pushToIndex(i, allowEmpty) {
        const s = this.buffer.slice(this.pos, i);
        if (s) {
          yield s;
          this.pos += s.length;
          return s.length;
        } else if (allowEmpty)
          yield "";
        return 0;
      }
      *pushIndicators() {
        let n = 0;
        loop: while (true) {
          switch (this.charAt(0)) {
            case "!":
              n += yield* this.pushTag();
              n += yield* this.pushSpaces(true);
              continue loop;
            case "&":
              n += yield* this.pushUntil(isNotAnchorChar);
              n += yield* this.pushSpaces(true);
              continue loop;
            case "-":
            // this is an error
            case "?":
            // this is an error outside flow collections
            case ":": {
              const inFlow = this.flowLevel > 0;
              const ch1 = this.charAt(1);
              if (isEmpty(ch1) || inFlow && flowIndicatorChars.has(ch1)) {
                if (!inFlow)
                  this.indentNext = this.indentValue + 1;
                else if (this.flowKey)
                  this.flowKey = false;
                n += yield* this.pushCount(1);
                n += yield* this.pushSpaces(true);
                continue loop;
              }
            }
          }
          break loop;
        }
        return n;
      }
      *pushTag() {
        if (this.charAt(1) === "<") {
          let i = this.pos + 2;
          let ch = this.buffer[i];
          while (!isEmpty(ch) && ch !== ">")
            ch = this.buffer[++i];
          return yield* this.pushToIndex(ch === ">" ? i + 1 : i, false);
        } else {
          let i = this.pos + 1;
          let ch = this.buffer[i];
          while (ch) {
            if (tagChars.has(ch))
              ch = this.buffer[++i];
            else if (ch === "%" && hexDigits.has(this.buffer[i + 1]) && hexDigits.has(this.buffer[i + 2])) {
              ch = this.buffer[i += 3];
            } else
              break;
          }
          return yield* this.pushToIndex(i, false);
        }
      }
      *pushNewline() {
        const ch = this.buffer[this.pos];
        if (ch === "\n")
          return yield* this.pushCount(1);
        else if (ch === "\r" && this.charAt(1) === "\n")
          return yield* this.pushCount(2);
        else
          return 0;
      }
      *pushSpaces(allowTabs) {
        let i = this.pos - 1;
        let ch;
        do {
          ch = this.buffer[++i];
        } while (ch === " " || allowTabs && ch === "	");
        const n = i - this.pos;
        if (n > 0) {
          yield this.buffer.substr(this.pos, n);
          this.pos = i;
        }
        return n;
      }
      *pushUntil(test) {
        let i = this.pos;
        let ch = this.buffer[i];
        while (!test(ch))
          ch = this.buffer[++i];
        return yield* this.pushToIndex(i, false);
      }
    };
    exports.Lexer = Lexer;
  }
});

// node_modules/yaml/dist/parse/line-counter.js
var require_line_counter = __commonJS({
  "node_modules/yaml/dist/parse/line-counter.js"(exports) {
    "use strict";
    var LineCounter = class {
      constructor() {
        this.lineStarts = [];
        this.addNewLine = (offset) => this.lineStarts.push(offset);
        this.linePos = (offset) => {
          let low = 0;
          let high = this.lineStarts.length;
          while (low < high) {
            const mid = low + high >> 1;
            if (this.lineStarts[mid] < offset)
              low = mid + 1;
            else
              high = mid;
          }
          if (this.lineStarts[low] === offset)
            return { line: low + 1, col: 1 };
          if (low === 0)
            return { line: 0, col: offset };
          const start = this.lineStarts[low - 1];
          return { line: low, col: offset - start + 1 };
        };
      }
    };
    exports.LineCounter = LineCounter;
  }
});

// node_modules/yaml/dist/parse/parser.js
var require_parser = __commonJS({
  "node_modules/yaml/dist/parse/parser.js"(exports) {
    "use strict";
    var node_process = __require("process");
    var cst = require_cst();
    var lexer = require_lexer();
    function includesToken(list, type) {
      for (let i = 0; i < list.length; ++i)
        if (list[i].type === type)
          return true;
      return false;
    }
    function findNonEmptyIndex(list) {
      for (let i = 0; i < list.length; ++i) {
        switch (list[i].type) {
          case "space":
          case "comment":
          case "newline":
            break;
          default:
            return i;
        }
      }
      return -1;
    }
    function isFlowToken(token) {
      switch (token?.type) {
        case "alias":
        case "scalar":
        case "single-quoted-scalar":
        case "double-quoted-scalar":
        case "flow-collection":
          return true;
        default:
          return false;
      }
    }
    function getPrevProps(parent) {
      switch (parent.type) {
        case "document":
          return parent.start;
        case "block-map": {
          const it = parent.items[parent.items.length - 1];
          return it.sep ?? it.start;
        }
        case "block-seq":
          return parent.items[parent.items.length - 1].start;
        /* istanbul ignore next should not happen */
        default:
          return [];
      }
    }
    function getFirstKeyStartProps(prev) {
      if (prev.length === 0)
        return [];
      let i = prev.length;
      loop: while (--i >= 0) {
        switch (prev[i].type) {
          case "doc-start":
          case "explicit-key-ind":
          case "map-value-ind":
          case "seq-item-ind":
          case "newline":
            break loop;
        }
      }
      while (prev[++i]?.type === "space") {
      }
      return prev.splice(i, prev.length);
    }
    function arrayPushArray(target, source) {
      if (source.length < 1e5)
        Array.prototype.push.apply(target, source);
      else
        for (let i = 0; i < source.length; ++i)
          target.push(source[i]);
    }
    function fixFlowSeqItems(fc) {
      if (fc.start.type === "flow-seq-start") {
        for (const it of fc.items) {
          if (it.sep && !it.value && !includesToken(it.start, "explicit-key-ind") && !includesToken(it.sep, "map-value-ind")) {
            if (it.key)
              it.value = it.key;
            delete it.key;
            if (isFlowToken(it.value)) {
              if (it.value.end)
                arrayPushArray(it.value.end, it.sep);
              else
                it.value.end = it.sep;
            } else
              arrayPushArray(it.start, it.sep);
            delete it.sep;
          }
        }
      }
    }
    var Parser = class {
      /**
       * @param onNewLine - If defined, called separately with the start position of
       *   each new line (in `parse()`, including the start of input).
       */
      constructor(onNewLine) {
        this.atNewLine = true;
        this.atScalar = false;
        this.indent = 0;
        this.offset = 0;
        this.onKeyLine = false;
        this.stack = [];
        this.source = "";
        this.type = "";
        this.lexer = new lexer.Lexer();
        this.onNewLine = onNewLine;
      }
      /**
       * Parse `source` as a YAML stream.
       * If `incomplete`, a part of the last line may be left as a buffer for the next call.
       *
       * Errors are not thrown, but yielded as `{ type: 'error', message }` tokens.
       *
       * @returns A generator of tokens representing each directive, document, and other structure.
       */
      *parse(source, incomplete = false) {
        if (this.onNewLine && this.offset === 0)
          this.onNewLine(0);
        for (const lexeme of this.lexer.lex(source, incomplete))
          yield* this.next(lexeme);
        if (!incomplete)
          yield* this.end();
      }
      /**
       * Advance the parser by the `source` of one lexical token.
       */
      *next(source) {
        this.source = source;
        if (node_process.env.LOG_TOKENS)
          console.log("|", cst.prettyToken(source));
        if (this.atScalar) {
          this.atScalar = false;
          yield* this.step();
          this.offset += source.length;
          return;
        }
        const type = cst.tokenType(source);
        if (!type) {
          const message = `Not a YAML token: ${source}`;
          yield* this.pop({ type: "error", offset: this.offset, message, source });
          this.offset += source.length;
        } else if (type === "scalar") {
          this.atNewLine = false;
          this.atScalar = true;
          this.type = "scalar";
        } else {
          this.type = type;
          yield* this.step();
          switch (type) {
            case "newline":
              this.atNewLine = true;
              this.indent = 0;
              if (this.onNewLine)
                this.onNewLine(this.offset + source.length);
              break;
            case "space":
              if (this.atNewLine && source[0] === " ")
                this.indent += source.length;
              break;
            case "explicit-key-ind":
            case "map-value-ind":
            case "seq-item-ind":
              if (this.atNewLine)
                this.indent += source.length;
              break;
            case "doc-mode":
            case "flow-error-end":
              return;
            default:
              this.atNewLine = false;
          }
          this.offset += source.length;
        }
      }
      /** Call at end of input to push out any remaining constructions */
      *end() {
        while (this.stack.length > 0)
          yield* this.pop();
      }
      get sourceToken() {
        const st = {
          type: this.type,
          offset: this.offset,
          indent: this.indent,
          source: this.source
        };
        return st;
      }
      *step() {
        const top = this.peek(1);
        if (this.type === "doc-end" && top?.type !== "doc-end") {
          while (this.stack.length > 0)
            yield* this.pop();
          this.stack.push({
            type: "doc-end",
            offset: this.offset,
            source: this.source
          });
          return;
        }
        if (!top)
          return yield* this.stream();
        switch (top.type) {
          case "document":
            return yield* this.document(top);
          case "alias":
          case "scalar":
          case "single-quoted-scalar":
          case "double-quoted-scalar":
            return yield* this.scalar(top);
          case "block-scalar":
            return yield* this.blockScalar(top);
          case "block-map":
            return yield* this.blockMap(top);
          case "block-seq":
            return yield* this.blockSequence(top);
          case "flow-collection":
            return yield* this.flowCollection(top);
          case "doc-end":
            return yield* this.documentEnd(top);
        }
        yield* this.pop();
      }
      peek(n) {
        return this.stack[this.stack.length - n];
      }
      *pop(error2) {
        const token = error2 ?? this.stack.pop();
        if (!token) {
          const message = "Tried to pop an empty stack";
          yield { type: "error", offset: this.offset, source: "", message };
        } else if (this.stack.length === 0) {
          yield token;
        } else {
          const top = this.peek(1);
          if (token.type === "block-scalar") {
            token.indent = "indent" in top ? top.indent : 0;
          } else if (token.type === "flow-collection" && top.type === "document") {
            token.indent = 0;
          }
          if (token.type === "flow-collection")
            fixFlowSeqItems(token);
          switch (top.type) {
            case "document":
              top.value = token;
              break;
            case "block-scalar":
              top.props.push(token);
              break;
            case "block-map": {
              const it = top.items[top.items.length - 1];
              if (it.value) {
                top.items.push({ start: [], key: token, sep: [] });
                this.onKeyLine = true;
                return;
              } else if (it.sep) {
                it.value = token;
              } else {
                Object.assign(it, { key: token, sep: [] });
                this.onKeyLine = !it.explicitKey;
                return;
              }
              break;
            }
            case "block-seq": {
              const it = top.items[top.items.length - 1];
              if (it.value)
                top.items.push({ start: [], value: token });
              else
                it.value = token;
              break;
            }
            case "flow-collection": {
              const it = top.items[top.items.length - 1];
              if (!it || it.value)
                top.items.push({ start: [], key: token, sep: [] });
              else if (it.sep)
                it.value = token;
              else
                Object.assign(it, { key: token, sep: [] });
              return;
            }
            /* istanbul ignore next should not happen */
            default:
              yield* this.pop();
              yield* this.pop(token);
          }
          if ((top.type === "document" || top.type === "block-map" || top.type === "block-seq") && (token.type === "block-map" || token.type === "block-seq")) {
            const last = token.items[token.items.length - 1];
            if (last && !last.sep && !last.value && last.start.length > 0 && findNonEmptyIndex(last.start) === -1 && (token.indent === 0 || last.start.every((st) => st.type !== "comment" || st.indent < token.indent))) {
              if (top.type === "document")
                top.end = last.start;
              else
                top.items.push({ start: last.start });
              token.items.splice(-1, 1);
            }
          }
        }
      }
      *stream() {
        switch (this.type) {
          case "directive-line":
            yield { type: "directive", offset: this.offset, source: this.source };
            return;
          case "byte-order-mark":
          case "space":
          case "comment":
          case "newline":
            yield this.sourceToken;
            return;
          case "doc-mode":
          case "doc-start": {
            const doc = {
              type: "document",
              offset: this.offset,
              start: []
            };
            if (this.type === "doc-start")
              doc.start.push(this.sourceToken);
            this.stack.push(doc);
            return;
          }
        }
        yield {
          type: "error",
          offset: this.offset,
          message: `Unexpected ${this.type} token in YAML stream`,
          source: this.source
        };
      }
      *document(doc) {
        if (doc.value)
          return yield* this.lineEnd(doc);
        switch (this.type) {
          case "doc-start": {
            if (findNonEmptyIndex(doc.start) !== -1) {
              yield* this.pop();
              yield* this.step();
            } else
              doc.start.push(this.sourceToken);
            return;
          }
          case "anchor":
          case "tag":
          case "space":
          case "comment":
          case "newline":
            doc.start.push(this.sourceToken);
            return;
        }
        const bv = this.startBlockValue(doc);
        if (bv)
          this.stack.push(bv);
        else {
          yield {
            type: "error",
            offset: this.offset,
            message: `Unexpected ${this.type} token in YAML document`,
            source: this.source
          };
        }
      }
      *scalar(scalar) {
        if (this.type === "map-value-ind") {
          const prev = getPrevProps(this.peek(2));
          const start = getFirstKeyStartProps(prev);
          let sep;
          if (scalar.end) {
            sep = scalar.end;
            sep.push(this.sourceToken);
            delete scalar.end;
          } else
            sep = [this.sourceToken];
          const map = {
            type: "block-map",
            offset: scalar.offset,
            indent: scalar.indent,
            items: [{ start, key: scalar, sep }]
          };
          this.onKeyLine = true;
          this.stack[this.stack.length - 1] = map;
        } else
          yield* this.lineEnd(scalar);
      }
      *blockScalar(scalar) {
        switch (this.type) {
          case "space":
          case "comment":
          case "newline":
            scalar.props.push(this.sourceToken);
            return;
          case "scalar":
            scalar.source = this.source;
            this.atNewLine = true;
            this.indent = 0;
            if (this.onNewLine) {
              let nl = this.source.indexOf("\n") + 1;
              while (nl !== 0) {
                this.onNewLine(this.offset + nl);
                nl = this.source.indexOf("\n", nl) + 1;
              }
            }
            yield* this.pop();
            break;
          /* istanbul ignore next should not happen */
          default:
            yield* this.pop();
            yield* this.step();
        }
      }
      *blockMap(map) {
        const it = map.items[map.items.length - 1];
        switch (this.type) {
          case "newline":
            this.onKeyLine = false;
            if (it.value) {
              const end = "end" in it.value ? it.value.end : void 0;
              const last = Array.isArray(end) ? end[end.length - 1] : void 0;
              if (last?.type === "comment")
                end?.push(this.sourceToken);
              else
                map.items.push({ start: [this.sourceToken] });
            } else if (it.sep) {
              it.sep.push(this.sourceToken);
            } else {
              it.start.push(this.sourceToken);
            }
            return;
          case "space":
          case "comment":
            if (it.value) {
              map.items.push({ start: [this.sourceToken] });
            } else if (it.sep) {
              it.sep.push(this.sourceToken);
            } else {
              if (this.atIndentedComment(it.start, map.indent)) {
                const prev = map.items[map.items.length - 2];
                const end = prev?.value?.end;
                if (Array.isArray(end)) {
                  arrayPushArray(end, it.start);
                  end.push(this.sourceToken);
                  map.items.pop();
                  return;
                }
              }
              it.start.push(this.sourceToken);
            }
            return;
        }
        if (this.indent >= map.indent) {
          const atMapIndent = !this.onKeyLine && this.indent === map.indent;
          const atNextItem = atMapIndent && (it.sep || it.explicitKey) && this.type !== "seq-item-ind";
          let start = [];
          if (atNextItem && it.sep && !it.value) {
            const nl = [];
            for (let i = 0; i < it.sep.length; ++i) {
              const st = it.sep[i];
              switch (st.type) {
                case "newline":
                  nl.push(i);
                  break;
                case "space":
                  break;
                case "comment":
                  if (st.indent > map.indent)
                    nl.length = 0;
                  break;
                default:
                  nl.length = 0;
              }
            }
            if (nl.length >= 2)
              start = it.sep.splice(nl[1]);
          }
          switch (this.type) {
            case "anchor":
            case "tag":
              if (atNextItem || it.value) {
                start.push(this.sourceToken);
                map.items.push({ start });
                this.onKeyLine = true;
              } else if (it.sep) {
                it.sep.push(this.sourceToken);
              } else {
                it.start.push(this.sourceToken);
              }
              return;
            case "explicit-key-ind":
              if (!it.sep && !it.explicitKey) {
                it.start.push(this.sourceToken);
                it.explicitKey = true;
              } else if (atNextItem || it.value) {
                start.push(this.sourceToken);
                map.items.push({ start, explicitKey: true });
              } else {
                this.stack.push({
                  type: "block-map",
                  offset: this.offset,
                  indent: this.indent,
                  items: [{ start: [this.sourceToken], explicitKey: true }]
                });
              }
              this.onKeyLine = true;
              return;
            case "map-value-ind":
              if (it.explicitKey) {
                if (!it.sep) {
                  if (includesToken(it.start, "newline")) {
                    Object.assign(it, { key: null, sep: [this.sourceToken] });
                  } else {
                    const start2 = getFirstKeyStartProps(it.start);
                    this.stack.push({
                      type: "block-map",
                      offset: this.offset,
                      indent: this.indent,
                      items: [{ start: start2, key: null, sep: [this.sourceToken] }]
                    });
                  }
                } else if (it.value) {
                  map.items.push({ start: [], key: null, sep: [this.sourceToken] });
                } else if (includesToken(it.sep, "map-value-ind")) {
                  this.stack.push({
                    type: "block-map",
                    offset: this.offset,
                    indent: this.indent,
                    items: [{ start, key: null, sep: [this.sourceToken] }]
                  });
                } else if (isFlowToken(it.key) && !includesToken(it.sep, "newline")) {
                  const start2 = getFirstKeyStartProps(it.start);
                  const key = it.key;
                  const sep = it.sep;
                  sep.push(this.sourceToken);
                  delete it.key;
                  delete it.sep;
                  this.stack.push({
                    type: "block-map",
                    offset: this.offset,
                    indent: this.indent,
                    items: [{ start: start2, key, sep }]
                  });
                } else if (start.length > 0) {
                  it.sep = it.sep.concat(start, this.sourceToken);
                } else {
                  it.sep.push(this.sourceToken);
                }
              } else {
                if (!it.sep) {
                  Object.assign(it, { key: null, sep: [this.sourceToken] });
                } else if (it.value || atNextItem) {
                  map.items.push({ start, key: null, sep: [this.sourceToken] });
                } else if (includesToken(it.sep, "map-value-ind")) {
                  this.stack.push({
                    type: "block-map",
                    offset: this.offset,
                    indent: this.indent,
                    items: [{ start: [], key: null, sep: [this.sourceToken] }]
                  });
                } else {
                  it.sep.push(this.sourceToken);
                }
              }
              this.onKeyLine = true;
              return;
            case "alias":
            case "scalar":
            case "single-quoted-scalar":
            case "double-quoted-scalar": {
              const fs = this.flowScalar(this.type);
              if (atNextItem || it.value) {
                map.items.push({ start, key: fs, sep: [] });
                this.onKeyLine = true;
              } else if (it.sep) {
                this.stack.push(fs);
              } else {
                Object.assign(it, { key: fs, sep: [] });
                this.onKeyLine = true;
              }
              return;
            }
            default: {
              const bv = this.startBlockValue(map);
              if (bv) {
                if (bv.type === "block-seq") {
                  if (!it.explicitKey && it.sep && !includesToken(it.sep, "newline")) {
                    yield* this.pop({
                      type: "error",
                      offset: this.offset,
                      message: "Unexpected block-seq-ind on same line with key",
                      source: this.source
                    });
                    return;
                  }
                } else if (atMapIndent) {
                  map.items.push({ start });
                }
                this.stack.push(bv);
                return;
              }
            }
          }
        }
        yield* this.pop();
        yield* this.step();
      }
      *blockSequence(seq) {
        const it = seq.items[seq.items.length - 1];
        switch (this.type) {
          case "newline":
            if (it.value) {
              const end = "end" in it.value ? it.value.end : void 0;
              const last = Array.isArray(end) ? end[end.length - 1] : void 0;
              if (last?.type === "comment")
                end?.push(this.sourceToken);
              else
                seq.items.push({ start: [this.sourceToken] });
            } else
              it.start.push(this.sourceToken);
            return;
          case "space":
          case "comment":
            if (it.value)
              seq.items.push({ start: [this.sourceToken] });
            else {
              if (this.atIndentedComment(it.start, seq.indent)) {
                const prev = seq.items[seq.items.length - 2];
                const end = prev?.value?.end;
                if (Array.isArray(end)) {
                  arrayPushArray(end, it.start);
                  end.push(this.sourceToken);
                  seq.items.pop();
                  return;
                }
              }
              it.start.push(this.sourceToken);
            }
            return;
          case "anchor":
          case "tag":
            if (it.value || this.indent <= seq.indent)
              break;
            it.start.push(this.sourceToken);
            return;
          case "seq-item-ind":
            if (this.indent !== seq.indent)
              break;
            if (it.value || includesToken(it.start, "seq-item-ind"))
              seq.items.push({ start: [this.sourceToken] });
            else
              it.start.push(this.sourceToken);
            return;
        }
        if (this.indent > seq.indent) {
          const bv = this.startBlockValue(seq);
          if (bv) {
            this.stack.push(bv);
            return;
          }
        }
        yield* this.pop();
        yield* this.step();
      }
      *flowCollection(fc) {
        const it = fc.items[fc.items.length - 1];
        if (this.type === "flow-error-end") {
          let top;
          do {
            yield* this.pop();
            top = this.peek(1);
          } while (top?.type === "flow-collection");
        } else if (fc.end.length === 0) {
          switch (this.type) {
            case "comma":
            case "explicit-key-ind":
              if (!it || it.sep)
                fc.items.push({ start: [this.sourceToken] });
              else
                it.start.push(this.sourceToken);
              return;
            case "map-value-ind":
              if (!it || it.value)
                fc.items.push({ start: [], key: null, sep: [this.sourceToken] });
              else if (it.sep)
                it.sep.push(this.sourceToken);
              else
                Object.assign(it, { key: null, sep: [this.sourceToken] });
              return;
            case "space":
            case "comment":
            case "newline":
            case "anchor":
            case "tag":
              if (!it || it.value)
                fc.items.push({ start: [this.sourceToken] });
              else if (it.sep)
                it.sep.push(this.sourceToken);
              else
                it.start.push(this.sourceToken);
              return;
            case "alias":
            case "scalar":
            case "single-quoted-scalar":
            case "double-quoted-scalar": {
              const fs = this.flowScalar(this.type);
              if (!it || it.value)
                fc.items.push({ start: [], key: fs, sep: [] });
              else if (it.sep)
                this.stack.push(fs);
              else
                Object.assign(it, { key: fs, sep: [] });
              return;
            }
            case "flow-map-end":
            case "flow-seq-end":
              fc.end.push(this.sourceToken);
              return;
          }
          const bv = this.startBlockValue(fc);
          if (bv)
            this.stack.push(bv);
          else {
            yield* this.pop();
            yield* this.step();
          }
        } else {
          const parent = this.peek(2);
          if (parent.type === "block-map" && (this.type === "map-value-ind" && parent.indent === fc.indent || this.type === "newline" && !parent.items[parent.items.length - 1].sep)) {
            yield* this.pop();
            yield* this.step();
          } else if (this.type === "map-value-ind" && parent.type !== "flow-collection") {
            const prev = getPrevProps(parent);
            const start = getFirstKeyStartProps(prev);
            fixFlowSeqItems(fc);
            const sep = fc.end.splice(1, fc.end.length);
            sep.push(this.sourceToken);
            const map = {
              type: "block-map",
              offset: fc.offset,
              indent: fc.indent,
              items: [{ start, key: fc, sep }]
            };
            this.onKeyLine = true;
            this.stack[this.stack.length - 1] = map;
          } else {
            yield* this.lineEnd(fc);
          }
        }
      }
      flowScalar(type) {
        if (this.onNewLine) {
          let nl = this.source.indexOf("\n") + 1;
          while (nl !== 0) {
            this.onNewLine(this.offset + nl);
            nl = this.source.indexOf("\n", nl) + 1;
          }
        }
        return {
          type,
          offset: this.offset,
          indent: this.indent,
          source: this.source
        };
      }
      startBlockValue(parent) {
        switch (this.type) {
          case "alias":
          case "scalar":
          case "single-quoted-scalar":
          case "double-quoted-scalar":
            return this.flowScalar(this.type);
          case "block-scalar-header":
            return {
              type: "block-scalar",
              offset: this.offset,
              indent: this.indent,
              props: [this.sourceToken],
              source: ""
            };
          case "flow-map-start":
          case "flow-seq-start":
            return {
              type: "flow-collection",
              offset: this.offset,
              indent: this.indent,
              start: this.sourceToken,
              items: [],
              end: []
            };
          case "seq-item-ind":
            return {
              type: "block-seq",
              offset: this.offset,
              indent: this.indent,
              items: [{ start: [this.sourceToken] }]
            };
          case "explicit-key-ind": {
            this.onKeyLine = true;
            const prev = getPrevProps(parent);
            const start = getFirstKeyStartProps(prev);
            start.push(this.sourceToken);
            return {
              type: "block-map",
              offset: this.offset,
              indent: this.indent,
              items: [{ start, explicitKey: true }]
            };
          }
          case "map-value-ind": {
            this.onKeyLine = true;
            const prev = getPrevProps(parent);
            const start = getFirstKeyStartProps(prev);
            return {
              type: "block-map",
              offset: this.offset,
              indent: this.indent,
              items: [{ start, key: null, sep: [this.sourceToken] }]
            };
          }
        }
        return null;
      }
      atIndentedComment(start, indent) {
        if (this.type !== "comment")
          return false;
        if (this.indent <= indent)
          return false;
        return start.every((st) => st.type === "newline" || st.type === "space");
      }
      *documentEnd(docEnd) {
        if (this.type !== "doc-mode") {
          if (docEnd.end)
            docEnd.end.push(this.sourceToken);
          else
            docEnd.end = [this.sourceToken];
          if (this.type === "newline")
            yield* this.pop();
        }
      }
      *lineEnd(token) {
        switch (this.type) {
          case "comma":
          case "doc-start":
          case "doc-end":
          case "flow-seq-end":
          case "flow-map-end":
          case "map-value-ind":
            yield* this.pop();
            yield* this.step();
            break;
          case "newline":
            this.onKeyLine = false;
          // fallthrough
          case "space":
          case "comment":
          default:
            if (token.end)
              token.end.push(this.sourceToken);
            else
              token.end = [this.sourceToken];
            if (this.type === "newline")
              yield* this.pop();
        }
      }
    };
    exports.Parser = Parser;
  }
});

// node_modules/yaml/dist/public-api.js
var require_public_api = __commonJS({
  "node_modules/yaml/dist/public-api.js"(exports) {
    "use strict";
    var composer = require_composer();
    var Document = require_Document();
    var errors = require_errors();
    var log = require_log();
    var identity = require_identity();
    var lineCounter = require_line_counter();
    var parser = require_parser();
    function parseOptions(options) {
      const prettyErrors = options.prettyErrors !== false;
      const lineCounter$1 = options.lineCounter || prettyErrors && new lineCounter.LineCounter() || null;
      return { lineCounter: lineCounter$1, prettyErrors };
    }
    function parseAllDocuments(source, options = {}) {
      const { lineCounter: lineCounter2, prettyErrors } = parseOptions(options);
      const parser$1 = new parser.Parser(lineCounter2?.addNewLine);
      const composer$1 = new composer.Composer(options);
      const docs = Array.from(composer$1.compose(parser$1.parse(source)));
      if (prettyErrors && lineCounter2)
        for (const doc of docs) {
          doc.errors.forEach(errors.prettifyError(source, lineCounter2));
          doc.warnings.forEach(errors.prettifyError(source, lineCounter2));
        }
      if (docs.length > 0)
        return docs;
      return Object.assign([], { empty: true }, composer$1.streamInfo());
    }
    function parseDocument(source, options = {}) {
      const { lineCounter: lineCounter2, prettyErrors } = parseOptions(options);
      const parser$1 = new parser.Parser(lineCounter2?.addNewLine);
      const composer$1 = new composer.Composer(options);
      let doc = null;
      for (const _doc of composer$1.compose(parser$1.parse(source), true, source.length)) {
        if (!doc)
          doc = _doc;
        else if (doc.options.logLevel !== "silent") {
          doc.errors.push(new errors.YAMLParseError(_doc.range.slice(0, 2), "MULTIPLE_DOCS", "Source contains multiple documents; please use YAML.parseAllDocuments()"));
          break;
        }
      }
      if (prettyErrors && lineCounter2) {
        doc.errors.forEach(errors.prettifyError(source, lineCounter2));
        doc.warnings.forEach(errors.prettifyError(source, lineCounter2));
      }
      return doc;
    }
    function parse(src, reviver, options) {
      let _reviver = void 0;
      if (typeof reviver === "function") {
        _reviver = reviver;
      } else if (options === void 0 && reviver && typeof reviver === "object") {
        options = reviver;
      }
      const doc = parseDocument(src, options);
      if (!doc)
        return null;
      doc.warnings.forEach((warning2) => log.warn(doc.options.logLevel, warning2));
      if (doc.errors.length > 0) {
        if (doc.options.logLevel !== "silent")
          throw doc.errors[0];
        else
          doc.errors = [];
      }
      return doc.toJS(Object.assign({ reviver: _reviver }, options));
    }
    function stringify(value, replacer, options) {
      let _replacer = null;
      if (typeof replacer === "function" || Array.isArray(replacer)) {
        _replacer = replacer;
      } else if (options === void 0 && replacer) {
        options = replacer;
      }
      if (typeof options === "string")
        options = options.length;
      if (typeof options === "number") {
        const indent = Math.round(options);
        options = indent < 1 ? void 0 : indent > 8 ? { indent: 8 } : { indent };
      }
      if (value === void 0) {
        const { keepUndefined } = options ?? replacer ?? {};
        if (!keepUndefined)
          return void 0;
      }
      if (identity.isDocument(value) && !_replacer)
        return value.toString(options);
      return new Document.Document(value, _replacer, options).toString(options);
    }
    exports.parse = parse;
    exports.parseAllDocuments = parseAllDocuments;
    exports.parseDocument = parseDocument;
    exports.stringify = stringify;
  }
});

// node_modules/yaml/dist/index.js
var require_dist = __commonJS({
  "node_modules/yaml/dist/index.js"(exports) {
    "use strict";
    var composer = require_composer();
    var Document = require_Document();
    var Schema = require_Schema();
    var errors = require_errors();
    var Alias = require_Alias();
    var identity = require_identity();
    var Pair = require_Pair();
    var Scalar = require_Scalar();
    var YAMLMap = require_YAMLMap();
    var YAMLSeq = require_YAMLSeq();
    var cst = require_cst();
    var lexer = require_lexer();
    var lineCounter = require_line_counter();
    var parser = require_parser();
    var publicApi = require_public_api();
    var visit = require_visit();
    exports.Composer = composer.Composer;
    exports.Document = Document.Document;
    exports.Schema = Schema.Schema;
    exports.YAMLError = errors.YAMLError;
    exports.YAMLParseError = errors.YAMLParseError;
    exports.YAMLWarning = errors.YAMLWarning;
    exports.Alias = Alias.Alias;
    exports.isAlias = identity.isAlias;
    exports.isCollection = identity.isCollection;
    exports.isDocument = identity.isDocument;
    exports.isMap = identity.isMap;
    exports.isNode = identity.isNode;
    exports.isPair = identity.isPair;
    exports.isScalar = identity.isScalar;
    exports.isSeq = identity.isSeq;
    exports.Pair = Pair.Pair;
    exports.Scalar = Scalar.Scalar;
    exports.YAMLMap = YAMLMap.YAMLMap;
    exports.YAMLSeq = YAMLSeq.YAMLSeq;
    exports.CST = cst;
    exports.Lexer = lexer.Lexer;
    exports.LineCounter = lineCounter.LineCounter;
    exports.Parser = parser.Parser;
    exports.parse = publicApi.parse;
    exports.parseAllDocuments = publicApi.parseAllDocuments;
    exports.parseDocument = publicApi.parseDocument;
    exports.stringify = publicApi.stringify;
    exports.visit = visit.visit;
    exports.visitAsync = visit.visitAsync;
  }
});

// src/github/run-env.ts
import { readFileSync } from "node:fs";

// src/github/rest.ts
import { setTimeout as sleep } from "node:timers/promises";
var GITHUB_API_URL = "https://api.github.com";
function githubToken(env = process.env) {
  return env.GITHUB_TOKEN || env.GH_TOKEN || void 0;
}
async function githubClient(opts) {
  const { Octokit } = await import("./dist-src-JETH4NI5.mjs");
  const octokit = new Octokit({
    auth: opts.token,
    baseUrl: (opts.apiUrl ?? process.env.GITHUB_API_URL ?? GITHUB_API_URL).replace(/\/+$/, ""),
    userAgent: "nixcache",
    // Octokit logs warnings (deprecations) to the console: keep them off stdout, which is for output.
    log: {
      debug: () => {
      },
      info: () => {
      },
      warn: (m) => process.stderr.write(`nixcache: ${m}
`),
      error: () => {
      }
    }
  });
  if (opts.retry !== false) retryRequests(octokit, opts.retry ?? DEFAULT_GITHUB_RETRY);
  return octokit;
}
var DEFAULT_GITHUB_RETRY = { attempts: 3, maxWaitMs: 6e4, backoffMs: 500 };
function rateLimit(status, headers) {
  if (status !== 403 && status !== 429) return void 0;
  const retryAfter = headers?.["retry-after"];
  const remaining = headers?.["x-ratelimit-remaining"];
  if (retryAfter !== void 0 && retryAfter !== "") {
    const s = Number(retryAfter);
    return { waitMs: Number.isFinite(s) && s >= 0 ? s * 1e3 : void 0 };
  }
  if (remaining !== void 0 && String(remaining) === "0") {
    const reset = Number(headers?.["x-ratelimit-reset"]);
    return { waitMs: Number.isFinite(reset) ? Math.max(0, reset * 1e3 - Date.now()) + 1e3 : void 0 };
  }
  return status === 429 ? { waitMs: 6e4 } : void 0;
}
function rateLimitWait(e) {
  const err = e;
  const limited = rateLimit(err.status, err.response?.headers);
  return limited === void 0 ? void 0 : limited.waitMs ?? null;
}
var IDEMPOTENT = /* @__PURE__ */ new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);
function retryRequests(octokit, policy) {
  octokit.hook.wrap("request", async (request2, options) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await request2(options);
      } catch (e) {
        if (attempt >= policy.attempts) throw e;
        const err = e;
        const limited = rateLimit(err.status, err.response?.headers);
        let waitMs;
        if (limited) waitMs = limited.waitMs;
        else if (typeof err.status === "number" && err.status >= 500 && (IDEMPOTENT.has(String(options.method).toUpperCase()) || options.request?.idempotent === true))
          waitMs = policy.backoffMs * 2 ** (attempt - 1);
        if (waitMs === void 0 || waitMs > policy.maxWaitMs) throw e;
        await sleep(waitMs);
      }
    }
  });
}

// src/github/run-env.ts
function readEventPayload(file) {
  if (!file) return {};
  try {
    const p = JSON.parse(readFileSync(file, "utf8"));
    return p !== null && typeof p === "object" ? p : {};
  } catch {
    return {};
  }
}
function githubRun(env = process.env) {
  if (env.GITHUB_ACTIONS !== "true") return { missing: "not running under GitHub Actions (GITHUB_ACTIONS)" };
  const full = env.GITHUB_REPOSITORY ?? "";
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(full);
  if (!m) return { missing: "GITHUB_REPOSITORY (owner/repo) is not set" };
  const payload = readEventPayload(env.GITHUB_EVENT_PATH);
  const event = env.GITHUB_EVENT_NAME ?? "";
  const pr = payload.pull_request;
  const wr = payload.workflow_run;
  const sha = (event.startsWith("pull_request") ? pr?.head?.sha : void 0) ?? wr?.head_sha ?? env.GITHUB_SHA;
  if (!sha || !/^[0-9a-f]{40}$/i.test(sha)) return { missing: "GITHUB_SHA (the commit) is not set" };
  const run = {
    apiUrl: (env.GITHUB_API_URL || GITHUB_API_URL).replace(/\/+$/, ""),
    owner: m[1],
    repo: m[2],
    sha: sha.toLowerCase(),
    event,
    fork: false
  };
  const number = event.startsWith("pull_request") ? pr?.number : wr?.pull_requests?.[0]?.number;
  if (typeof number === "number" && Number.isInteger(number)) run.pullRequest = number;
  if (event === "pull_request") {
    const head = pr?.head?.repo?.full_name;
    run.fork = head === void 0 || head !== full;
  }
  const page = githubActionsRun(env)?.url;
  if (page !== void 0) run.runUrl = page;
  return { run };
}

// src/github/action-inputs.ts
var DEFAULT_OIDC_AUDIENCE = "nixcache";
var ACTION_COMMANDS = ["build", "push", "verify", "ci"];
function booleanInput(name) {
  const v = getInput(name);
  if (["", "false", "False", "FALSE"].includes(v)) return false;
  if (["true", "True", "TRUE"].includes(v)) return true;
  throw new NixcacheError("usage", `input ${name}: ${JSON.stringify(v)} is not true or false`);
}
function readActionInputs() {
  const token = getInput("token");
  const signingKey = getInput("signing-key");
  const githubToken2 = getInput("github-token");
  if (token) setSecret(token);
  if (githubToken2) setSecret(githubToken2);
  if (signingKey) {
    setSecret(signingKey);
    const secret = signingKey.slice(signingKey.indexOf(":") + 1);
    if (secret && secret !== signingKey) setSecret(secret);
  }
  const command = getInput("command") || "build";
  if (!ACTION_COMMANDS.includes(command))
    throw new NixcacheError(
      "usage",
      `input command: ${JSON.stringify(command)} is not one of ${ACTION_COMMANDS.join(", ")}`
    );
  const lines = (name) => getMultilineInput(name).map((l) => l.trim()).filter(Boolean);
  const out = {
    command,
    caches: lines("cache"),
    flake: getInput("flake") || ".",
    upstreams: lines("upstream"),
    extraArgs: getInput("extra-args").split(/\s+/).filter(Boolean),
    oidc: booleanInput("oidc"),
    oidcAudience: getInput("oidc-audience") || DEFAULT_OIDC_AUDIENCE
  };
  if (out.oidc && token)
    throw new NixcacheError(
      "usage",
      "input oidc: true gets the token from the server; leave input token empty"
    );
  if (token) out.token = token;
  if (githubToken2) out.githubToken = githubToken2;
  if (signingKey) out.signingKey = signingKey;
  const config = getInput("config");
  if (config) out.config = config;
  return out;
}
function runContext(env = process.env) {
  const payload = readEventPayload(env.GITHUB_EVENT_PATH);
  const event = env.GITHUB_EVENT_NAME ?? "";
  const head = payload.pull_request?.head?.repo?.full_name;
  const forkPullRequest = event.startsWith("pull_request") && (head === void 0 || head !== env.GITHUB_REPOSITORY);
  const ctx = {
    event,
    forkPullRequest,
    tempDir: env.RUNNER_TEMP || "/tmp"
  };
  const branch = env.GITHUB_HEAD_REF || payload.workflow_run?.head_branch || (env.GITHUB_REF?.startsWith("refs/heads/") ? env.GITHUB_REF.slice("refs/heads/".length) : void 0);
  if (branch) ctx.branch = branch;
  return ctx;
}

// src/local-nix/nix-config.ts
var settingSchema = external_exports.union([external_exports.object({ value: external_exports.unknown() }).passthrough(), external_exports.unknown()]);
var configSchema = external_exports.record(external_exports.string(), settingSchema);
function settingValue(setting) {
  if (setting !== null && typeof setting === "object" && "value" in setting)
    return setting.value;
  return setting;
}
function listOf(v) {
  if (Array.isArray(v)) return v.filter((x) => typeof x === "string" && x !== "");
  if (typeof v === "string") return v.split(/\s+/).filter(Boolean);
  return [];
}
function parseNixConfigJson(text) {
  let json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new NixCommandError(`nix show-config printed invalid JSON: ${e.message}`, 0, "");
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success)
    throw new NixCommandError(`unexpected nix show-config JSON: ${external_exports.prettifyError(parsed.error)}`, 0, "");
  const raw = {};
  for (const [k, v] of Object.entries(parsed.data)) raw[k] = settingValue(v);
  const system = typeof raw.system === "string" ? raw.system : "";
  if (!system) throw new NixCommandError("nix show-config did not say which system this machine is", 0, "");
  return {
    system,
    extraPlatforms: listOf(raw["extra-platforms"]),
    substituters: listOf(raw.substituters),
    trustedPublicKeys: listOf(raw["trusted-public-keys"]),
    raw
  };
}
async function readNixConfig() {
  const { out } = await runNixForms(configShowForms(await nixVersion()), ["--json"]);
  return parseNixConfigJson(out);
}
function buildableSystems(c) {
  return [.../* @__PURE__ */ new Set([c.system, ...c.extraPlatforms])];
}

// src/action/extra-args.ts
import { parseArgs } from "node:util";

// src/targets/select.ts
var CANDIDATE_SYSTEMS = [
  "x86_64-linux",
  "aarch64-linux",
  "x86_64-darwin",
  "aarch64-darwin",
  "i686-linux"
];
var PER_SYSTEM_SETS = ["packages", "checks", "devShells"];
var PER_SYSTEM_SINGLES = ["defaultPackage", "devShell"];
var CONFIGURATIONS = ["nixosConfigurations", "darwinConfigurations", "homeConfigurations"];
function matchPattern(pattern, path7) {
  if (pattern.parts.length !== path7.length) return false;
  return pattern.parts.every((p, i) => p === "*" || p === path7[i]);
}
function applicableSections(sections, branch) {
  return sections.filter((s) => s.branch === void 0 || s.branch === branch);
}
function isCandidate(path7) {
  const [kind, second] = path7;
  if (kind === void 0 || second === void 0) return false;
  const sys = CANDIDATE_SYSTEMS.includes(second);
  if (PER_SYSTEM_SETS.includes(kind)) return path7.length === 3 && sys;
  if (PER_SYSTEM_SINGLES.includes(kind)) return path7.length === 2 && sys;
  if (CONFIGURATIONS.includes(kind)) return path7.length === 2;
  return false;
}
function isSelected(sections, path7) {
  if (!isCandidate(path7)) return false;
  return sections.some(
    (s) => s.include.some((p) => matchPattern(p, path7)) && !s.exclude.some((p) => matchPattern(p, path7))
  );
}
function selectPaths(sections, candidates, branch) {
  const apply = applicableSections(sections, branch);
  return candidates.filter((c) => isSelected(apply, c)).map((c) => [...c]);
}
function attrText(path7) {
  return path7.map(attrName).join(".");
}
var IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_'-]*$/;
function attrName(name) {
  return IDENTIFIER.test(name) ? name : `"${name.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
function pathSystem(path7) {
  const [kind, second] = path7;
  if (kind === void 0 || CONFIGURATIONS.includes(kind)) return void 0;
  return second;
}
function parseAttrText(text) {
  const out = [];
  let i = 0;
  while (i <= text.length) {
    if (text[i] === '"') {
      let name = "";
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        name += text[i];
        i++;
      }
      out.push(name);
      i += 2;
    } else {
      const dot = text.indexOf(".", i);
      const end = dot === -1 ? text.length : dot;
      out.push(text.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

// src/report/commit-status.ts
var AGGREGATE_CONTEXT = "All nixcache checks";
var DESCRIPTION_MAX = 140;
function shown(name) {
  if (/^[\x21-\x7e\u00a0-\uffff]([\x20-\x7e\u00a0-\uffff]*[\x21-\x7e\u00a0-\uffff])?$/.test(name) && !/[[\]"]/.test(name))
    return name;
  return JSON.stringify(name);
}
var KINDS = {
  packages: "package",
  checks: "check",
  devShells: "devShell",
  apps: "app"
};
var CONFIGS = {
  nixosConfigurations: "nixosConfig",
  homeConfigurations: "homeConfig",
  darwinConfigurations: "darwinConfig"
};
function statusContext(attr) {
  const path7 = parseAttrText(attr);
  const [kind, second, third] = path7;
  if (kind !== void 0 && second !== void 0) {
    const perSystem = KINDS[kind];
    if (perSystem && third !== void 0 && path7.length === 3)
      return `${perSystem} ${shown(third)} [${second}]`;
    if (path7.length === 2) {
      if (kind === "defaultPackage") return `default package [${second}]`;
      if (kind === "devShell") return `default devShell [${second}]`;
      const config = CONFIGS[kind];
      if (config) return `${config} ${shown(second)}`;
    }
  }
  return attr;
}
function isNixcacheContext(context) {
  return context === AGGREGATE_CONTEXT || /^(package|check|devShell|app) .+ \[[^\]]+\]$/.test(context) || /^default (package|devShell) \[[^\]]+\]$/.test(context) || /^(nixosConfig|homeConfig|darwinConfig) .+$/.test(context);
}
function statusDescription(text, keep = "") {
  const one = text.replace(/\s+/g, " ").trim();
  const room = DESCRIPTION_MAX - keep.length;
  return `${one.length > room ? `${one.slice(0, room - 1)}…` : one}${keep}`;
}
function firstErrorLine(error2) {
  const lines = error2.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^error\b/i.test(l)) ?? lines[0] ?? "failed";
}
function shortDuration(ms) {
  const s = Math.max(0, Math.round(ms / 1e3));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}
function targetStatus(t, o = {}) {
  const context = statusContext(t.attr);
  const url = t.logUrl ?? o.jobUrl;
  const out = (state, text) => ({
    context,
    state,
    description: statusDescription(text),
    ...url !== void 0 ? { targetUrl: url } : {}
  });
  const took = o.durationMs !== void 0 ? ` in ${shortDuration(o.durationMs)}` : "";
  if (t.status === "failed" || t.status === "eval-failed") {
    const what = t.status === "eval-failed" ? "evaluation failed" : "build failed";
    return out("failure", t.error ? firstErrorLine(t.error) : what);
  }
  if (t.status === "not-built-here") {
    if (t.verify === "ok") return out("success", `cached (not built: no runner for ${t.system})`);
    return out("success", `not built: no runner for ${t.system}`);
  }
  const pushFailed = Object.entries(t.push).find(([, s]) => s.startsWith("failed: "));
  const did = t.status === "cached" ? "cached: already in the cache" : `built${took}`;
  if (pushFailed)
    return out("failure", `${did}, but not pushed to ${pushFailed[0]}: ${pushFailed[1].slice(8)}`);
  if (t.verify !== void 0 && t.verify !== "ok")
    return out("failure", `${did}, but not substitutable (${t.verify})`);
  return out("success", did);
}
function aggregateStatus(targets, o = {}) {
  const bad = targets.filter((t) => !t.ok);
  const extra = o.unreported ? ` (${o.unreported} without a status of their own)` : "";
  const base = {
    context: AGGREGATE_CONTEXT,
    ...o.targetUrl !== void 0 ? { targetUrl: o.targetUrl } : {}
  };
  if (targets.length === 0)
    return { ...base, state: "success", description: statusDescription("no targets to check", extra) };
  if (bad.length === 0)
    return {
      ...base,
      state: "success",
      description: statusDescription(
        `${targets.length}/${targets.length} targets substitutable and signed${extra}`
      )
    };
  const head = `${bad.length} of ${targets.length} not substitutable: `;
  let text = `${head}${statusContext(bad[0]?.attr ?? "")}${bad.length > 1 ? `, +${bad.length - 1} more` : ""}`;
  for (let n = 2; n <= Math.min(3, bad.length); n++) {
    const names = bad.slice(0, n).map((t) => statusContext(t.attr));
    const more = bad.length > n ? `, +${bad.length - n} more` : "";
    const candidate = `${head}${names.join(", ")}${more}`;
    if (candidate.length + extra.length > DESCRIPTION_MAX) break;
    text = candidate;
  }
  return { ...base, state: "failure", description: statusDescription(text, extra) };
}
function failuresFirst(updates) {
  const rank = (s) => s.state === "failure" || s.state === "error" ? 0 : 1;
  return [...updates].sort((a, b) => rank(a) - rank(b));
}

// src/report/pr-comment.ts
var PR_COMMENT_MARKER = "<!-- nixcache:pr-comment -->";
var PR_COMMENT_MODES = ["auto", "always", "never"];
function latestNixcacheStatuses(list, own) {
  const seen = /* @__PURE__ */ new Map();
  for (const s of list) {
    if (seen.has(s.context)) continue;
    if (own.has(s.context) || isNixcacheContext(s.context)) seen.set(s.context, s);
  }
  return [...seen.values()];
}
function cell(text) {
  return text.replace(/\s+/g, " ").replace(/[\\`*[\]<>|]/g, (c) => `\\${c}`).trim();
}
function prCommentBody(statuses, o) {
  const failed = statuses.filter((s) => s.state === "failure" || s.state === "error");
  const listed2 = failed.length > 1 ? failed.filter((s) => s.context !== AGGREGATE_CONTEXT) : failed;
  const pending = statuses.filter((s) => s.state === "pending").length;
  const short = o.sha.slice(0, 7);
  const lines = [PR_COMMENT_MARKER];
  if (failed.length === 0) {
    lines.push(
      `### ✅ nixcache: all passing on ${short}`,
      "",
      pending > 0 ? `No check has failed; ${pending} still running.` : `All ${statuses.length} nixcache checks passed.`
    );
  } else {
    lines.push(
      `### ❌ nixcache: ${listed2.length} check${listed2.length === 1 ? "" : "s"} failed on ${short}`,
      "",
      "| check | first error |",
      "|---|---|"
    );
    for (const s of listed2) {
      const name = cell(s.context);
      const linked = s.target_url && /^https?:\/\//.test(s.target_url) ? `[${name}](${s.target_url})` : name;
      lines.push(`| ${linked} | ${cell(s.description ?? s.state)} |`);
    }
    if (pending > 0) lines.push("", `${pending} more still running.`);
  }
  lines.push(
    "",
    `<sub>nixcache edits this comment on every run${o.runUrl ? ` (latest: [this run](${o.runUrl}))` : ""}.</sub>`
  );
  return { body: `${lines.join("\n")}
`, failed: listed2.length, pending };
}

// src/flags/spec.ts
function flagKey(spec) {
  const name = spec.type === "switch" && spec.name.startsWith("no-") ? spec.name.slice(3) : spec.name;
  return name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
}

// src/flags/table.ts
var int = (min, max) => (t, label2) => parseIntFlag(t, label2, min, max);
var TARGET_FLAGS = [
  {
    name: "flake",
    type: "value",
    arg: "<ref>",
    help: "flake reference (a directory, git+file:, github:, ...)",
    default: "."
  },
  {
    name: "config",
    type: "value",
    arg: "<file>",
    help: "garnix.yaml to use instead of the flake's own configuration (its garnix.config output, else <flake>/garnix.yaml)"
  },
  {
    name: "branch",
    type: "value",
    arg: "<name>",
    help: "branch being pushed: sections with another `branch:` do not apply",
    action: true
  },
  {
    name: "system",
    type: "list",
    arg: "<systems...>",
    help: "only targets for these systems (e.g. x86_64-linux aarch64-darwin)",
    action: true
  }
];
var GITHUB_FLAGS = [
  {
    name: "github-status",
    type: "switch",
    help: "write GitHub commit statuses (default under GitHub Actions; elsewhere needs GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_TOKEN)",
    action: true
  },
  {
    name: "no-github-status",
    type: "switch",
    help: "write no commit statuses and no pull-request comment",
    action: true
  },
  {
    name: "max-statuses",
    type: "value",
    arg: "<n>",
    help: "individual commit statuses per run at most, failures first",
    default: "50",
    parse: int(0, 1e4),
    action: true
  },
  {
    name: "pr-comment",
    type: "value",
    arg: "<mode>",
    help: "the pull-request comment: auto (when something failed, or to update an earlier one), always, never (default: auto, or never when the Garnix config says commentOnFailure: false)",
    choices: PR_COMMENT_MODES,
    parse: (t, label2) => parseChoiceFlag(t, label2, PR_COMMENT_MODES),
    action: true
  }
];
var RUNNER_SYSTEMS_FLAG = {
  name: "runner-systems",
  type: "list",
  arg: "<system...>",
  help: "systems the workflow has a build job for: their targets are left to those jobs' statuses (default: this machine's)",
  action: true
};
var compression = {
  name: "compression",
  type: "value",
  arg: "<method>",
  help: "NAR compression",
  choices: COMPRESSIONS,
  default: "zstd",
  parse: (t, label2) => parseChoiceFlag(t, label2, COMPRESSIONS),
  action: true
};
var compressionLevel = {
  name: "compression-level",
  type: "value",
  arg: "<n>",
  help: "compression level (default: zstd 2, xz 6)",
  parse: int(0, 22),
  action: true
};
var netrcFile = {
  name: "netrc-file",
  type: "value",
  arg: "<file>",
  help: "netrc file for Basic auth (default: the one Nix uses)"
};
var BUILD_FLAGS = [
  {
    name: "trusted-key",
    type: "list",
    arg: "<key...>",
    help: "public key `name:base64` the caches' signatures are checked against (repeatable)",
    action: true
  },
  {
    name: "upstream",
    type: "list",
    arg: "<url...>",
    help: "upstream caches whose signed paths are not pushed (default: cache.nixos.org when nix.conf uses it)"
  },
  {
    name: "upstream-key",
    type: "list",
    arg: "<key...>",
    help: "public keys the upstream caches sign with",
    action: true
  },
  {
    name: "no-upstream",
    type: "switch",
    help: "no upstream caches, as serve's --no-upstream: push every path, even those cache.nixos.org serves",
    aliases: ["no-upstream-filter"],
    action: true
  },
  {
    name: "max-jobs",
    type: "value",
    arg: "<n>",
    help: "passed to Nix: builds in parallel",
    parse: (t, label2) => parseIntOrAutoFlag(t, label2, 0, 4096),
    action: true
  },
  {
    name: "cores",
    type: "value",
    arg: "<n>",
    help: "passed to Nix: cores per build",
    parse: (t, label2) => String(parseIntFlag(t, label2, 0, 4096)),
    action: true
  },
  {
    name: "keep-going",
    short: "k",
    type: "switch",
    help: "a failed target does not stop the others",
    action: true
  },
  {
    name: "log-dir",
    type: "value",
    arg: "<dir>",
    help: "where per-target build logs go (default: a new temporary directory, reported)",
    action: true
  },
  {
    name: "require-push",
    type: "switch",
    help: "exit 1 when any output failed to reach any push cache",
    action: true
  },
  {
    name: "signing-key",
    type: "value",
    arg: "<file>",
    help: "sign pushed narinfos with this Nix secret key file"
  },
  {
    name: "token",
    type: "value",
    arg: "<token>",
    help: "token for the caches (default: $NIXCACHE_TOKEN; cachix:// $CACHIX_AUTH_TOKEN)"
  },
  netrcFile,
  {
    name: "cachix-api",
    type: "value",
    arg: "<url>",
    help: "for cachix://NAME: the Cachix-compatible API",
    action: true
  },
  compression,
  compressionLevel,
  {
    name: "jobs",
    short: "j",
    type: "value",
    arg: "<n>",
    help: "NAR uploads in flight per cache",
    default: "8",
    parse: int(1, 256),
    action: true
  },
  { name: "json", type: "switch", help: "print the report as JSON on stdout" },
  {
    name: "summary",
    type: "value",
    arg: "<file>",
    help: "append a Markdown summary to this file (default under GitHub Actions: $GITHUB_STEP_SUMMARY)"
  }
];
var REPORT_FLAGS = [
  {
    name: "report-to",
    type: "value",
    arg: "<url>",
    help: "upload the JSON report to this nixcache server's cache (http(s)://HOST/<cache>; default: the first cache that is a nixcache server)",
    action: true
  },
  { name: "no-report", type: "switch", help: "upload no report", action: true },
  {
    name: "commit",
    type: "value",
    arg: "<sha>",
    help: "the commit the report is for (default: $GITHUB_SHA, else git rev-parse HEAD in the flake)",
    action: true
  }
];
var BUILD_PUSH_FLAG = {
  name: "push",
  type: "list",
  arg: "<cache...>",
  help: "caches to push to (file://, http(s)://, cachix://NAME); repeatable"
};
var CI_FLAGS = [
  {
    name: "cache",
    type: "list",
    arg: "<url...>",
    help: "caches to push to and verify against (default: the embedded nixcache server)"
  },
  {
    name: "data",
    type: "value",
    arg: "<dir>",
    help: "data directory of the embedded server (default: $XDG_DATA_HOME/nixcache)"
  },
  {
    name: "port",
    type: "value",
    arg: "<port>",
    help: "port of the embedded server when it is started (default 7080, else a free one)",
    parse: parsePortFlag
  }
];
var VERIFY_FLAGS = [
  {
    name: "cache",
    type: "list",
    arg: "<url...>",
    help: "binary caches to check, in substituter order (file://, http(s)://)",
    required: true
  },
  {
    name: "trusted-key",
    type: "list",
    arg: "<key...>",
    help: "trusted public key `name:base64` (repeatable); without one only presence is checked",
    action: true
  },
  {
    name: "closure",
    type: "switch",
    help: "also check every path of each target's runtime closure",
    action: true
  },
  {
    name: "wait",
    type: "value",
    arg: "<duration>",
    help: "re-check what is missing until complete or this much time passed (30s, 45m, 1h)",
    parse: (t, label2) => parseDurationFlag(t, label2),
    action: true
  },
  {
    name: "interval",
    type: "value",
    arg: "<duration>",
    help: "time between checks with --wait",
    default: "30s",
    parse: (t, label2) => parseDurationFlag(t, label2),
    action: true
  },
  { name: "json", type: "switch", help: "print the report as JSON" },
  {
    name: "summary",
    type: "value",
    arg: "<file>",
    help: "append a Markdown summary to this file (default under GitHub Actions: $GITHUB_STEP_SUMMARY)"
  },
  {
    name: "concurrency",
    type: "value",
    arg: "<n>",
    help: "cache requests in flight",
    default: "32",
    parse: parsePositiveIntFlag,
    action: true
  },
  {
    name: "path",
    type: "list",
    arg: "<store-path...>",
    help: "verify these store paths (or ./result links) instead of the flake's targets; no evaluation"
  }
];
var PUSH_FLAGS = [
  { name: "stdin", type: "switch", help: "also read paths from standard input, whitespace separated" },
  compression,
  compressionLevel,
  {
    name: "jobs",
    short: "j",
    type: "value",
    arg: "<n>",
    help: "paths in flight",
    default: 8,
    parse: int(1, 256),
    action: true
  },
  {
    name: "signing-key",
    type: "value",
    arg: "<file>",
    help: "sign narinfos with this Nix secret key file (existing signatures are kept)"
  },
  {
    name: "token",
    type: "value",
    arg: "<token>",
    help: "Bearer token for the cache (default: $NIXCACHE_TOKEN; for cachix:// $CACHIX_AUTH_TOKEN, then $NIXCACHE_TOKEN)"
  },
  netrcFile,
  {
    name: "cachix-api",
    type: "value",
    arg: "<url>",
    help: "for cachix://NAME: the Cachix-compatible API (default: https://app.cachix.org/api/v1; token from --token, $CACHIX_AUTH_TOKEN or $NIXCACHE_TOKEN, signing key from $CACHIX_SIGNING_KEY)",
    action: true
  },
  { name: "dry-run", short: "n", type: "switch", help: "show what would be pushed, upload nothing" },
  { name: "json", type: "switch", help: "print a machine-readable summary on stdout" }
];
var COMMAND_FLAGS = {
  build: [BUILD_PUSH_FLAG, ...TARGET_FLAGS, ...GITHUB_FLAGS, RUNNER_SYSTEMS_FLAG, ...BUILD_FLAGS],
  ci: [...CI_FLAGS, ...TARGET_FLAGS, ...GITHUB_FLAGS, RUNNER_SYSTEMS_FLAG, ...BUILD_FLAGS, ...REPORT_FLAGS],
  verify: [...VERIFY_FLAGS, ...TARGET_FLAGS, ...REPORT_FLAGS, ...GITHUB_FLAGS],
  push: PUSH_FLAGS
};

// src/flags/parse.ts
function parsedDefault(spec) {
  const d = spec.default;
  if (d === void 0 || typeof d === "number" || !spec.parse) return d;
  return spec.parse(d, `--${spec.name}`);
}
function parseFlagValues(specs, raw, prefix) {
  const out = {};
  const keys = new Set(specs.map(flagKey));
  for (const spec of specs) {
    const key = flagKey(spec);
    const given = [spec.name, ...spec.aliases ?? []].map((n) => raw[n]).find((v) => v !== void 0);
    const negated = spec.type === "switch" && spec.name.startsWith("no-");
    if (given === void 0) {
      if (negated && !specs.some((s) => s !== spec && flagKey(s) === key)) out[key] ??= true;
      else if (spec.default !== void 0 && out[key] === void 0) out[key] = parsedDefault(spec);
      continue;
    }
    if (negated) {
      if (out[key] === true)
        throw new NixcacheError("usage", `${prefix}--${spec.name.slice(3)} and --${spec.name} contradict`);
      out[key] = false;
      continue;
    }
    if (spec.type === "switch") out[key] = given === true;
    else if (spec.type === "list") out[key] = [given].flat().map(String);
    else {
      const text = String(given);
      out[key] = spec.parse ? spec.parse(text, `${prefix}--${spec.name}`) : text;
    }
  }
  for (const k of Object.keys(out)) if (!keys.has(k)) delete out[k];
  return out;
}

// src/action/extra-args.ts
function actionFlags(command) {
  const cachixApi = COMMAND_FLAGS.push.find((s) => s.name === "cachix-api");
  const lists = {
    build: COMMAND_FLAGS.build,
    ci: [...COMMAND_FLAGS.ci, ...COMMAND_FLAGS.verify],
    // verify reads Cachix caches through the API too (the CLI's verify reads them over HTTP).
    verify: [...COMMAND_FLAGS.verify, ...cachixApi ? [cachixApi] : []],
    push: COMMAND_FLAGS.push
  };
  const seen = /* @__PURE__ */ new Set();
  return lists[command].filter((s) => s.action && !seen.has(s.name) && seen.add(s.name));
}
function parseExtraArgs(command, args) {
  const specs = actionFlags(command);
  const options = {};
  for (const s of specs)
    for (const name of [s.name, ...s.aliases ?? []])
      options[name] = {
        type: s.type === "switch" ? "boolean" : "string",
        ...s.type === "list" ? { multiple: true } : {},
        ...s.short && name === s.name ? { short: s.short } : {}
      };
  let r;
  try {
    r = parseArgs({ args: [...args], options, strict: true, allowPositionals: command === "push" });
  } catch (e) {
    throw new NixcacheError("usage", `input extra-args: ${e.message}`);
  }
  const raw = r.values;
  return {
    values: parseFlagValues(specs, raw, "extra-args "),
    positionals: r.positionals,
    given: (name) => raw[name] !== void 0
  };
}

// src/action/modes/build.ts
import { randomBytes } from "node:crypto";
import path5 from "node:path";

// src/targets/resolve.ts
import { existsSync as existsSync2, realpathSync, statSync as statSync2 } from "node:fs";
import { readFile } from "node:fs/promises";
import path2 from "node:path";

// src/local-nix/flake-eval.ts
import { fileURLToPath } from "node:url";

// src/local-nix/flake-ref.ts
import { existsSync, statSync } from "node:fs";
import path from "node:path";
var FlakeEvalError = class extends NixcacheError {
  constructor(message, options) {
    super("invalid", message, options);
  }
};
function findGitRoot(dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, ".git"))) return d;
    if (path.dirname(d) === d) return void 0;
  }
}
function locateFlake(input, cwd = process.cwd()) {
  if (input.includes("#")) {
    throw new FlakeEvalError(
      `flake reference ${JSON.stringify(input)} must not name an attribute (drop "#...")`
    );
  }
  const isPath = input.startsWith(".") || input.startsWith("/") || input.startsWith("path:") || !input.includes(":") && existsSync(path.resolve(cwd, input));
  if (!isPath) return { flake: { input, ref: input }, hasFlake: true };
  const dir = path.resolve(cwd, input.startsWith("path:") ? input.slice(5) : input);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new FlakeEvalError(`flake directory ${JSON.stringify(dir)} does not exist`);
  }
  const hasFlake = existsSync(path.join(dir, "flake.nix"));
  const root = input.startsWith("path:") ? void 0 : findGitRoot(dir);
  if (root === void 0) return { flake: { input, ref: `path:${dir}`, localDir: dir }, hasFlake };
  const sub = path.relative(root, dir);
  const ref = `git+file://${root}${sub ? `?dir=${encodeURIComponent(sub)}` : ""}`;
  return { flake: { input, ref, localDir: dir }, hasFlake };
}
function splitQuery(ref) {
  const q = ref.indexOf("?");
  return q < 0 ? [ref, new URLSearchParams()] : [ref.slice(0, q), new URLSearchParams(ref.slice(q + 1))];
}
function flakeRefDir(ref) {
  return splitQuery(ref)[1].get("dir") ?? "";
}
function withFlakeDir(ref, sub) {
  const [base, params] = splitQuery(ref);
  const dir = path.posix.normalize(path.posix.join(params.get("dir") || ".", sub));
  if (dir === ".") params.delete("dir");
  else params.set("dir", dir);
  const query = params.toString();
  return query ? `${base}?${query}` : base;
}

// src/local-nix/flake-eval.ts
var EVAL_FILE = fileURLToPath(new URL("./eval-targets.nix", import.meta.url));
var EVAL_EXPR = 'import (builtins.getEnv "NIXCACHE_EVAL_FILE")';
var RawTarget = external_exports.object({
  name: external_exports.string(),
  system: external_exports.string(),
  drvPath: external_exports.string(),
  mainOut: external_exports.string(),
  outputs: external_exports.record(external_exports.string(), external_exports.string())
});
var RawOutput = external_exports.object({
  candidates: external_exports.array(external_exports.array(external_exports.string())),
  selected: external_exports.array(external_exports.array(external_exports.string())),
  results: external_exports.array(RawTarget.nullable()),
  /** The config flake's `garnix.config` as JSON text (null: it threw), or null: no such output. */
  config: external_exports.object({ json: external_exports.string().nullable() }).nullable()
});
function toResult(p, r) {
  if (r === null) return { path: p, error: "" };
  return {
    path: p,
    name: r.name,
    system: r.system,
    drvPath: r.drvPath,
    outPath: r.mainOut,
    outputs: r.outputs
  };
}
async function runEval(spec, cwd) {
  const out = await runNix(["eval", "--json", "--impure", "--expr", EVAL_EXPR], {
    env: { ...process.env, NIXCACHE_EVAL_FILE: EVAL_FILE, NIXCACHE_EVAL_SPEC: JSON.stringify(spec) },
    cwd
  });
  let json;
  try {
    json = JSON.parse(out);
  } catch {
    throw new FlakeEvalError("nix eval printed something that is not JSON");
  }
  const parsed = RawOutput.safeParse(json);
  if (!parsed.success)
    throw new FlakeEvalError(
      `unexpected output of the evaluator: ${parsed.error.issues.map((i) => `${i.path.join(".") || "output"}: ${i.message}`).join("; ")}`
    );
  return parsed.data;
}
function nixErrorMessage(stderr) {
  const lines = stderr.split("\n");
  const start = lines.findIndex((l) => l.startsWith("error:"));
  if (start < 0) return stderr.trim() || "evaluation failed";
  const para = [];
  for (const l of lines.slice(start)) {
    if (l.trim() === "" || l.startsWith("(use '--show-trace'")) break;
    para.push(l.trim());
  }
  return para.join(" ").replace(/^error:\s*/, "");
}
function errorText(e) {
  return e instanceof NixCommandError ? nixErrorMessage(e.stderr) : e instanceof Error ? e.message : String(e);
}
async function evalFlakeTargets(flake, opts) {
  let base = {
    flake: flake.ref,
    configFlake: opts.configFlake?.ref ?? null,
    candidates: opts.candidates,
    mode: "select",
    sections: opts.sections,
    systems: opts.systems ? [...opts.systems] : null,
    paths: [],
    catch: true
  };
  const conc = opts.recoveryConcurrency ?? 2;
  const noTargets = (cfg) => ({
    candidates: [],
    selected: [],
    results: [],
    ...cfg
  });
  let raw;
  let results;
  let first;
  try {
    first = await runEval(base);
  } catch {
    if (opts.configFlake !== void 0) {
      const cfg = await flakeConfig(base, opts.configFlake);
      if (cfg !== void 0) return noTargets(cfg);
      base = { ...base, configFlake: null };
    }
  }
  if (first?.config) {
    if (first.config.json !== null)
      return noTargets({ garnixConfig: JSON.parse(first.config.json) });
    const cfg = await flakeConfig(base, opts.configFlake);
    return noTargets(
      cfg ?? { garnixConfigError: "it failed to evaluate, then was not there when evaluated again" }
    );
  }
  if (first !== void 0) {
    raw = first;
    results = first.results.map((r, i) => toResult(first.selected[i], r));
  } else {
    try {
      raw = await runEval({ ...base, mode: "list" });
    } catch (e2) {
      throw new FlakeEvalError(`cannot evaluate flake ${flake.input}: ${errorText(e2)}`);
    }
    results = await bisect(base, raw.selected, conc);
  }
  base = { ...base, configFlake: null };
  const failed = results.filter((r) => "error" in r && r.error === "");
  await mapLimit(failed, conc, async (f) => {
    try {
      await runEval({ ...base, mode: "paths", paths: [f.path], catch: false });
      f.error = "evaluation failed (tryEval) but succeeded on its own";
    } catch (e) {
      f.error = errorText(e);
    }
  });
  let out = results;
  if (opts.systems) {
    const want = new Set(opts.systems);
    out = results.filter((r) => !("system" in r) || want.has(r.system));
  }
  return { candidates: raw.candidates, selected: out.map((r) => r.path), results: out };
}
async function flakeConfig(base, configFlake) {
  const spec = { ...base, configFlake: configFlake.ref, mode: "config", catch: false };
  try {
    const raw = await runEval(spec);
    if (raw.config === null) return void 0;
    return { garnixConfig: JSON.parse(raw.config.json ?? "null") };
  } catch (e) {
    let has;
    try {
      has = await runEval({ ...spec, mode: "has-config" });
    } catch (e2) {
      throw new FlakeEvalError(`cannot evaluate flake ${configFlake.input}: ${errorText(e2)}`);
    }
    if (has.config === null)
      throw new FlakeEvalError(`cannot evaluate flake ${configFlake.input}: ${errorText(e)}`);
    return { garnixConfigError: errorText(e) };
  }
}
async function readFlakeGarnixConfig(flake) {
  const spec = {
    flake: flake.ref,
    configFlake: flake.ref,
    candidates: { systems: [], perSystemSets: [], perSystemSingles: [], configurations: [] },
    mode: "config",
    sections: [],
    systems: null,
    paths: [],
    catch: false
  };
  return flakeConfig(spec, flake);
}
async function bisect(base, paths, conc) {
  if (paths.length === 0) return [];
  try {
    const raw = await runEval({ ...base, mode: "paths", paths });
    return raw.results.map((r, i) => toResult(paths[i], r));
  } catch (e) {
    if (paths.length === 1) return [{ path: paths[0], error: errorText(e) }];
    const mid = Math.ceil(paths.length / 2);
    const halves = await mapLimit(
      [paths.slice(0, mid), paths.slice(mid)],
      conc,
      (h) => bisect(base, h, conc)
    );
    return halves.flat();
  }
}
async function evalImpureJson(expr, env, failed) {
  let out;
  try {
    out = await runNix(["eval", "--json", "--impure", "--expr", expr], { env: { ...process.env, ...env } });
  } catch (e) {
    throw failed(errorText(e));
  }
  return JSON.parse(out);
}
async function readFlakeFile(flake, relPath) {
  const expr = `
let
  f = builtins.getFlake (builtins.getEnv "NIXCACHE_FLAKE");
  p = f.outPath + "/" + builtins.getEnv "NIXCACHE_FILE";
in if builtins.pathExists p then builtins.readFile p else null`;
  const dir = flakeRefDir(flake.ref);
  return await evalImpureJson(
    expr,
    { NIXCACHE_FLAKE: flake.ref, NIXCACHE_FILE: dir ? `${dir}/${relPath}` : relPath },
    (why) => new FlakeEvalError(`cannot read ${relPath} from flake ${flake.input}: ${why}`)
  );
}

// src/targets/garnix-config.ts
var import_yaml = __toESM(require_dist(), 1);
var GarnixConfigError = class extends NixcacheError {
  constructor(message, options) {
    super("usage", message, options);
  }
};
var DEFAULT_INCLUDE = [
  "*.x86_64-linux.*",
  "defaultPackage.x86_64-linux",
  "devShell.x86_64-linux",
  "homeConfigurations.*",
  "darwinConfigurations.*",
  "nixosConfigurations.*"
];
var FLAKE_CONFIG_SOURCE = "garnix.config";
var DEFAULT_SOURCE = "default";
var NOTES = {
  servers: () => "servers: Garnix-hosted servers are not replaced by nixcache; ignored (the nixosConfigurations they deploy are still built when `builds` selects them)",
  actions: (v) => {
    const runs = fieldOfEach(v, "run");
    const what = runs.length > 0 ? `Garnix built and ran ${runs.map((r) => `apps.x86_64-linux.${r}`).join(", ")} on every push: run ${runs.map((r) => `\`nix run .#${r}\``).join(", ")} in a workflow step instead` : "Garnix built and ran each action's `run` app on every push: run it with `nix run` in a workflow step instead";
    return `actions: nixcache runs no actions; ignored (${what})`;
  },
  incrementalizeBuilds: () => "incrementalizeBuilds: ignored; nixcache does not point the `garnix-incrementalize` flake input at an earlier commit's build: it evaluates the flake as locked and skips every target the cache already holds",
  modules: () => "modules: nixcache publishes no Garnix modules; ignored",
  fodChecks: () => "fodChecks: nixcache does not rebuild fixed-output derivations to check their hashes; ignored",
  autoCancelSuperseded: () => "autoCancelSuperseded: not needed; the workflows `nixcache workflow` writes always cancel a superseded run of the same branch or pull request (a concurrency group with cancel-in-progress)",
  artifacts: (v) => {
    const pkgs = fieldOfEach(v, "package").map((p) => `packages.x86_64-linux.${p}`);
    const built = pkgs.length > 0 ? ` Garnix's self-hosted fork also built ${pkgs.join(", ")} when \`builds\` did not select ${pkgs.length === 1 ? "it" : "them"}; nixcache builds only what \`builds\` selects` : "";
    return `artifacts: nixcache publishes no downloadable artifacts (the binary cache serves the outputs); ignored.${built}`;
  }
};
var HONOURED = /* @__PURE__ */ new Set(["builds", "flakeDir", "commentOnFailure"]);
var KNOWN_KEYS = [...HONOURED, ...Object.keys(NOTES)];
var KNOWN_SECTION = /* @__PURE__ */ new Set(["include", "exclude", "branch"]);
function fieldOfEach(list, field) {
  if (!Array.isArray(list)) return [];
  return list.flatMap(
    (x) => x !== null && typeof x === "object" && typeof x[field] === "string" ? [x[field]] : []
  );
}
function parsePattern(text) {
  const parts = text.split(".");
  if (parts.length < 2 || parts.length > 3) {
    throw new GarnixConfigError(
      `invalid pattern ${JSON.stringify(text)}: it has ${parts.length} part${parts.length === 1 ? "" : "s"}, a pattern needs 2 or 3 parts separated by '.'`
    );
  }
  if (parts.some((p) => p === "")) {
    throw new GarnixConfigError(`invalid pattern ${JSON.stringify(text)}: it has an empty part`);
  }
  return { text, parts };
}
function normalizeFlakeDir(value, label2 = "flakeDir") {
  const bad = (why) => new GarnixConfigError(
    `${label2}: ${JSON.stringify(value)} ${why}; it names the flake's directory inside the repository`
  );
  if (value.includes("\0")) throw bad("contains a NUL character");
  if (value.startsWith("/")) throw bad("is absolute");
  const parts = value.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw bad("leaves the repository ('..' is not allowed)");
  return parts.length === 0 ? "." : parts.join("/");
}
var patternList = external_exports.array(external_exports.string(), { error: "must be a list of strings" });
var sectionSchema = external_exports.looseObject({
  include: patternList.optional(),
  exclude: patternList.optional(),
  branch: external_exports.string({ error: "must be a string" }).optional()
});
function describeIssue(label2, issue) {
  return `${[label2, ...issue.path.map(String)].join(".")}: ${issue.message}`;
}
function describeType(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "a mapping" : `${typeof v} ${JSON.stringify(v)}`;
}
function defaultGarnixConfig() {
  return {
    sections: [{ include: DEFAULT_INCLUDE.map(parsePattern), exclude: [] }],
    warnings: [],
    notes: [],
    source: DEFAULT_SOURCE,
    flakeDir: "."
  };
}
function parseGarnixConfig(text, source = "garnix.yaml") {
  let doc;
  try {
    doc = (0, import_yaml.parse)(text);
  } catch (e) {
    const msg = e instanceof import_yaml.YAMLParseError ? e.message : String(e);
    throw new GarnixConfigError(`${source}: not valid YAML: ${msg}`);
  }
  return garnixConfigFromValue(doc, source);
}
function parseFlakeGarnixConfig(value) {
  return garnixConfigFromValue(value, FLAKE_CONFIG_SOURCE, "flake output garnix.config");
}
function garnixConfigFromValue(doc, source, label2 = source) {
  if (doc === null || doc === void 0) {
    return {
      ...defaultGarnixConfig(),
      source,
      warnings: [`${label2} is empty; using Garnix's default targets`]
    };
  }
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new GarnixConfigError(`${label2}: expected a mapping at the top level, got ${describeType(doc)}`);
  }
  const top = doc;
  const warnings = [];
  const notes = [];
  for (const k of Object.keys(top)) {
    const note = NOTES[k];
    if (note) notes.push(note(top[k]));
    else if (!HONOURED.has(k)) warnings.push(`${label2}: unknown key ${JSON.stringify(k)} ignored`);
  }
  let flakeDir = ".";
  if ("flakeDir" in top) {
    const v = top.flakeDir;
    if (typeof v !== "string")
      throw new GarnixConfigError(
        `${label2}: flakeDir: must be a string (the flake's directory in the repository), got ${describeType(v)}`
      );
    flakeDir = normalizeFlakeDir(v, `${label2}: flakeDir`);
  }
  let commentOnFailure;
  if ("commentOnFailure" in top) {
    const v = top.commentOnFailure;
    if (typeof v !== "boolean")
      throw new GarnixConfigError(
        `${label2}: commentOnFailure: must be true or false, got ${describeType(v)}`
      );
    commentOnFailure = v;
  }
  const withKeys = (c) => {
    const out = { ...c, source, warnings, notes, flakeDir };
    if (commentOnFailure !== void 0) out.commentOnFailure = commentOnFailure;
    return out;
  };
  if (!("builds" in top)) return withKeys(defaultGarnixConfig());
  const builds = top.builds;
  const list = Array.isArray(builds) ? builds : [builds];
  const sections = list.map((raw, i) => {
    const where = Array.isArray(builds) ? `builds[${i}]` : "builds";
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      throw new GarnixConfigError(
        `${label2}: ${where}: expected a section (include/exclude/branch)${Array.isArray(builds) ? "" : " or a list of sections"}`
      );
    }
    const parsed = sectionSchema.safeParse(raw);
    if (!parsed.success) {
      throw new GarnixConfigError(
        `${label2}: ${parsed.error.issues.map((is) => describeIssue(where, is)).join("; ")}`
      );
    }
    const s = parsed.data;
    for (const k of Object.keys(s)) {
      if (!KNOWN_SECTION.has(k))
        warnings.push(`${label2}: unknown key ${JSON.stringify(k)} in ${where} ignored`);
    }
    const pats = (list2, field) => list2.map((t) => {
      try {
        const pat = parsePattern(t);
        if (pat.parts.some((p) => p !== "*" && p.includes("*"))) {
          warnings.push(
            `${label2}: ${where}.${field}: ${JSON.stringify(t)} has '*' inside a part; Garnix matches that part literally`
          );
        }
        return pat;
      } catch (e) {
        throw new GarnixConfigError(`${label2}: ${where}.${field}: ${e.message}`);
      }
    });
    const section = {
      include: pats(s.include ?? DEFAULT_INCLUDE, "include"),
      exclude: pats(s.exclude ?? [], "exclude")
    };
    if (s.branch !== void 0) section.branch = s.branch;
    return section;
  });
  return withKeys({ ...defaultGarnixConfig(), sections });
}

// src/targets/resolve.ts
async function readConfigFile(configFile, cwd) {
  const file = path2.resolve(cwd, configFile);
  let text;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new GarnixConfigError(
      `cannot read config ${configFile}: ${e.code ?? e}`
    );
  }
  return parseGarnixConfig(text, configFile);
}
async function readGarnixYaml(root, cwd) {
  let text;
  let source;
  if (root.localDir !== void 0) {
    const file = path2.join(root.localDir, "garnix.yaml");
    source = path2.relative(cwd, file) || file;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      if (e.code === "ENOENT") return void 0;
      throw e;
    }
  } else {
    source = root.input.includes("?") ? `garnix.yaml in ${root.input}` : `${root.input}/garnix.yaml`;
    text = await readFlakeFile(root, "garnix.yaml");
    if (text === null) return void 0;
  }
  try {
    return { source, config: parseGarnixConfig(text, source) };
  } catch (e) {
    if (e instanceof GarnixConfigError) return { source, error: e };
    throw e;
  }
}
function label(config) {
  return config.source === FLAKE_CONFIG_SOURCE ? "flake output garnix.config" : config.source;
}
function flakeIn(root, config) {
  const sub = config.flakeDir;
  if (sub === ".") return root;
  const where = `${label(config)}: flakeDir ${JSON.stringify(sub)}`;
  const top = root.flake;
  if (top.localDir === void 0) {
    return {
      flake: { input: withFlakeDir(top.input, sub), ref: withFlakeDir(top.ref, sub) },
      hasFlake: true
    };
  }
  const dir = path2.join(top.localDir, sub);
  if (!existsSync2(dir) || !statSync2(dir).isDirectory())
    throw new GarnixConfigError(`${where}: there is no directory ${dir}`);
  const real = realpathSync(dir);
  const realTop = realpathSync(top.localDir);
  if (real !== realTop && !real.startsWith(`${realTop}${path2.sep}`))
    throw new GarnixConfigError(`${where}: ${dir} leaves ${top.localDir} (a symbolic link to ${real})`);
  if (!existsSync2(path2.join(dir, "flake.nix")))
    throw new GarnixConfigError(`${where}: there is no flake.nix in ${dir}`);
  const found = locateFlake(top.ref.startsWith("path:") ? `path:${dir}` : dir);
  return { flake: { ...found.flake, input: path2.join(top.input, sub) }, hasFlake: true };
}
var CANDIDATES = {
  systems: CANDIDATE_SYSTEMS,
  perSystemSets: PER_SYSTEM_SETS,
  perSystemSingles: PER_SYSTEM_SINGLES,
  configurations: CONFIGURATIONS
};
function evaluate(flake, config, opts, configFlake) {
  const sections = applicableSections(config.sections, opts.branch);
  const evalOpts = {
    candidates: CANDIDATES,
    sections: sections.map((s) => ({
      include: s.include.map((p) => p.parts),
      exclude: s.exclude.map((p) => p.parts)
    }))
  };
  if (opts.systems) evalOpts.systems = opts.systems;
  if (configFlake) evalOpts.configFlake = configFlake;
  return evalFlakeTargets(flake, evalOpts);
}
function toTargets(ev, config, opts) {
  const want = new Set(
    selectPaths(config.sections, ev.candidates, opts.branch).filter(
      (p) => !opts.systems || pathSystem(p) === void 0 || opts.systems.includes(pathSystem(p))
    ).map(attrText)
  );
  const got = ev.results.map((r) => attrText(r.path));
  const stray = got.filter((a) => !want.has(a));
  const gotSet = new Set(got);
  if (!opts.systems) stray.push(...[...want].filter((a) => !gotSet.has(a)));
  if (stray.length > 0)
    throw new Error(`internal error: Nix selected ${stray.join(", ")} differently from the rules`);
  return ev.results.map((r) => {
    const attr = attrText(r.path);
    if ("error" in r) {
      return {
        attr,
        system: pathSystem(r.path) ?? "unknown",
        name: null,
        outPath: null,
        outputs: null,
        drvPath: null,
        error: r.error
      };
    }
    return {
      attr,
      system: r.system,
      name: r.name,
      outPath: r.outPath,
      outputs: r.outputs,
      drvPath: r.drvPath
    };
  });
}
async function resolveTargets(opts = {}) {
  const cwd = opts.cwd ?? process.cwd();
  const input = opts.flake ?? ".";
  const root = locateFlake(input, cwd);
  const none = (config2) => ({
    targets: [],
    warnings: [...config2?.warnings ?? [], `no flake.nix in ${input}; nothing to build`],
    notes: config2?.notes ?? [],
    configSource: "none"
  });
  let yaml;
  let config;
  let target;
  const fromFlake = (r) => {
    if ("garnixConfigError" in r)
      throw new GarnixConfigError(
        `flake output garnix.config of ${root.flake.input} does not evaluate: ${r.garnixConfigError}`
      );
    const c = parseFlakeGarnixConfig(r.garnixConfig);
    if (yaml !== void 0)
      c.warnings.unshift(
        `${yaml.source} ignored: the flake output garnix.config takes precedence, as in Garnix`
      );
    return c;
  };
  if (opts.configFile !== void 0) {
    config = await readConfigFile(opts.configFile, cwd);
    target = flakeIn(root, config);
    if (!target.hasFlake) return none(config);
    const ev2 = await evaluate(target.flake, config, opts);
    return result(toTargets(ev2, config, opts), config, target.flake);
  }
  if (root.flake.localDir !== void 0 && !root.hasFlake) {
    if (!existsSync2(path2.join(root.flake.localDir, "garnix.yaml"))) return none();
  }
  yaml = await readGarnixYaml(root.flake, cwd);
  try {
    if (yaml !== void 0 && "error" in yaml) throw yaml.error;
    config = yaml?.config ?? defaultGarnixConfig();
    target = flakeIn(root, config);
  } catch (e) {
    if (!(e instanceof GarnixConfigError) || !root.hasFlake) throw e;
    const r = await readFlakeGarnixConfig(root.flake);
    if (r === void 0) throw e;
    config = fromFlake(r);
    target = flakeIn(root, config);
    const ev2 = await evaluate(target.flake, config, opts);
    return result(toTargets(ev2, config, opts), config, target.flake);
  }
  if (!target.hasFlake) return none(config);
  let ev = await evaluate(target.flake, config, opts, root.hasFlake ? root.flake : void 0);
  if (ev.garnixConfig !== void 0 || ev.garnixConfigError !== void 0) {
    config = fromFlake(
      ev.garnixConfigError !== void 0 ? { garnixConfigError: ev.garnixConfigError } : { garnixConfig: ev.garnixConfig }
    );
    target = flakeIn(root, config);
    ev = await evaluate(target.flake, config, opts);
  }
  return result(toTargets(ev, config, opts), config, target.flake);
}
function result(targets, config, flake) {
  const res = {
    targets,
    warnings: config.warnings,
    notes: config.notes,
    configSource: config.source,
    flake
  };
  if (config.flakeDir !== ".") res.flakeDir = config.flakeDir;
  if (config.commentOnFailure !== void 0) res.commentOnFailure = config.commentOnFailure;
  return res;
}

// src/local-nix/realise.ts
import { spawn } from "node:child_process";
var ACT_BUILD = 105;
var ACT_SUBSTITUTE = 108;
var RES_BUILD_LOG_LINE = 101;
var RES_PROGRESS = 105;
var InternalJsonParser = class {
  constructor(emit) {
    this.emit = emit;
  }
  emit;
  buildOf = /* @__PURE__ */ new Map();
  doneOf = /* @__PURE__ */ new Map();
  line(text) {
    if (!text.startsWith("@nix ")) {
      const t = stripAnsi(text).trim();
      if (t.startsWith("error:")) this.emit({ type: "error", message: t.replace(/^error:\s*/, "") });
      return;
    }
    let m;
    try {
      m = JSON.parse(text.slice(5));
    } catch {
      return;
    }
    const id = typeof m.id === "number" ? m.id : -1;
    const fields = Array.isArray(m.fields) ? m.fields : [];
    switch (m.action) {
      case "start":
        if (m.type === ACT_BUILD && typeof fields[0] === "string") {
          this.buildOf.set(id, fields[0]);
          this.emit({ type: "build-started", drv: fields[0] });
        } else if (m.type === ACT_SUBSTITUTE && typeof fields[0] === "string") {
          this.emit({ type: "substitute-started", path: fields[0] });
        }
        return;
      case "stop":
        this.emit({ type: "tick" });
        return;
      case "result":
        if (m.type === RES_BUILD_LOG_LINE && typeof fields[0] === "string") {
          const drv = this.buildOf.get(id);
          if (drv) this.emit({ type: "log", drv, line: stripAnsi(fields[0]) });
        } else if (m.type === RES_PROGRESS && typeof fields[0] === "number") {
          const before = this.doneOf.get(id) ?? 0;
          const failed = typeof fields[3] === "number" ? fields[3] : 0;
          const now = fields[0] + failed;
          if (now > before) {
            this.doneOf.set(id, now);
            this.emit({ type: "tick" });
          }
        }
        return;
      case "msg":
        if (m.level === 0 && typeof m.msg === "string")
          this.emit({ type: "error", message: stripAnsi(m.msg).replace(/^error:\s*/, "") });
        return;
    }
  }
};
function realise(drvs, opts) {
  const args = ["--realise", "--log-format", "internal-json"];
  if (opts.keepGoing) args.push("--keep-going");
  if (opts.maxJobs !== void 0) args.push("--max-jobs", opts.maxJobs);
  if (opts.cores !== void 0) args.push("--cores", opts.cores);
  args.push(...opts.extraArgs ?? [], ...drvs);
  return new Promise((resolve, reject) => {
    const errors = [];
    const parser = new InternalJsonParser((e) => {
      if (e.type === "error") errors.push(e.message);
      opts.onEvent(e);
    });
    const child = spawn("nix-store", args, { stdio: ["ignore", "ignore", "pipe"] });
    const onAbort = () => child.kill("SIGINT");
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    let rest = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop() ?? "";
      for (const l of lines) parser.line(l);
    });
    child.on("error", (e) => {
      opts.signal?.removeEventListener("abort", onAbort);
      reject(
        new NixCommandError(
          e.code === "ENOENT" ? "nix-store is not installed or not on PATH" : `cannot run nix-store: ${e.message}`,
          null,
          ""
        )
      );
    });
    child.on("close", (code, sig) => {
      opts.signal?.removeEventListener("abort", onAbort);
      if (rest) parser.line(rest);
      resolve({ exitCode: code ?? (sig ? 128 : 1), errors });
    });
  });
}
async function invalidPaths(paths) {
  if (paths.length === 0) return /* @__PURE__ */ new Set();
  const out = await runNixProgram("nix-store", ["--check-validity", "--print-invalid", ...paths]);
  return new Set(out.split("\n").filter(Boolean));
}
function failedBuilds(errors) {
  const out = /* @__PURE__ */ new Map();
  for (const raw of errors) {
    const e = stripAnsi(raw);
    const old = /builder for '([^']+\.drv)' (failed[^\n;]*)/.exec(e);
    if (old?.[1]) {
      out.set(old[1], `builder for '${old[1]}' ${old[2]?.replace(/[;.]$/, "")}`);
      continue;
    }
    const now = /Cannot build '([^']+\.drv)'\.\s+Reason: ([^\n]*)/.exec(e);
    if (now?.[1]) {
      const reason = (now[2] ?? "").trim().replace(/\.$/, "");
      if (/^\d+ dependenc(?:y|ies) failed/.test(reason)) continue;
      out.set(
        now[1],
        reason.startsWith("builder ") ? `builder for '${now[1]}' ${reason.slice("builder ".length)}` : `cannot build '${now[1]}': ${reason}`
      );
      continue;
    }
    const whole = /build of '([^'^]+\.drv)(?:\^[^']*)?' failed[^\n]*/.exec(e);
    if (whole?.[1]) out.set(whole[1], whole[0].replace(/;$/, ""));
  }
  return out;
}
async function derivationRequisites(drv) {
  const out = await runNixProgram("nix-store", ["--query", "--requisites", drv]);
  return out.split("\n").filter(Boolean);
}

// src/ui-api/log-text.ts
var LOG_TAIL_LINES = 100;
var LOG_LINE_MAX = 650;
var LOG_CUT_MARK = "…";
var ESCAPES = (
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are what this matches
  /\u001b\[[0-?]*[ -/]*[@-~]|\u009b[0-?]*[ -/]*[@-~]|(?:\u001b[\]PX^_]|[\u0090\u0098\u009d\u009e\u009f])[\s\S]*?(?:\u0007|\u001b\\|\u009c|$)|\u001b[ -/]*[0-~]?/g
);
var CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;
function cleanLogLine(line) {
  let s = line.replace(ESCAPES, "");
  s = s.replace(/\r+$/, "");
  const cr = s.lastIndexOf("\r");
  if (cr >= 0) s = s.slice(cr + 1);
  return s.replace(CONTROLS, "");
}
function shownLine(line, max = LOG_LINE_MAX) {
  const clean = cleanLogLine(line);
  if (clean.length <= max) return { text: clean };
  const chars = Array.from(clean);
  if (chars.length <= max) return { text: clean };
  return { text: chars.slice(0, max).join(""), cut: true };
}
function shownLineText(line, max = LOG_LINE_MAX) {
  const s = shownLine(line, max);
  return s.cut ? `${s.text}${LOG_CUT_MARK}` : s.text;
}

// src/build/attribute-failures.ts
async function attributeFailures(pending, { result: result2, logs }, pusher, opts, emit) {
  const fullLogs = /* @__PURE__ */ new Map();
  const failedDrvs = failedBuilds(result2.errors);
  for (const [t, r] of pending) {
    r.status = "failed";
    const own = t.drvPath ? failedDrvs.get(t.drvPath) : void 0;
    const deps = own === void 0 && t.drvPath ? await failedDependencies(t.drvPath, failedDrvs) : [];
    r.error = own ?? (deps.length > 0 ? `dependency ${deps.join(", ")} failed to build` : opts.signal?.aborted ? "interrupted" : result2.errors.at(-1) ?? `nix-store --realise exited with ${result2.exitCode}`);
    const lines = [...t.drvPath ? logs.get(t.drvPath) ?? [] : []];
    for (const d of deps) lines.push(`--- log of failed dependency ${d} ---`, ...logs.get(d) ?? []);
    if (lines.length === 0) lines.push(r.error);
    fullLogs.set(t, lines);
    r.logTail = lines.slice(-LOG_TAIL_LINES);
    for (const p of pusher.sessions) r.push[p.cache.url] ??= "failed: not built";
    emit({ type: "target", attr: t.attr, system: t.system, phase: "failed" });
  }
  return fullLogs;
}
async function failedDependencies(drv, failed) {
  if (failed.size === 0) return [];
  try {
    return (await derivationRequisites(drv)).filter((d) => failed.has(d));
  } catch {
    return [];
  }
}

// src/build/entries.ts
function initialEntries(targets, buildable) {
  return targets.map((t) => ({
    t,
    r: {
      attr: t.attr,
      system: t.system,
      status: t.error !== void 0 || t.outPath === null ? "eval-failed" : buildable.has(t.system) ? "built" : "not-built-here",
      outPath: t.outPath,
      push: {},
      log: null,
      ...t.error !== void 0 ? { error: t.error } : {}
    }
  }));
}
function outputsOf(t) {
  return t.outputs ? Object.values(t.outputs) : t.outPath ? [t.outPath] : [];
}

// src/build/push-targets.ts
var TargetPusher = class _TargetPusher {
  constructor(sessions, health, emit) {
    this.sessions = sessions;
    this.health = health;
    this.emit = emit;
  }
  sessions;
  health;
  emit;
  pushing = [];
  pushed = /* @__PURE__ */ new Set();
  /** `needed`: whether anything may be pushed (else no session, and the push code is not loaded). */
  static async start(opts, needed, health, emit) {
    const filter = new UpstreamFilter(opts.upstreams ?? []);
    const { PushSession: PushSession2 } = needed ? await import("./session-25MYZ5E5.mjs") : { PushSession: null };
    const sessions = PushSession2 ? opts.push.map((p, i) => {
      const session = new PushSession2(p.cache, {
        ...opts.pushOptions,
        signal: opts.signal,
        exclude: (paths) => filter.served(paths),
        onEvent: (event) => emit({ type: "push", cache: p.cache.url, event })
      });
      const reason = health.down[i];
      if (reason !== void 0) session.markDown(reason);
      return session;
    }) : [];
    return new _TargetPusher(sessions, health, emit);
  }
  /** Pushes `t` (once) to every cache not marked `already` in `r`, recording each outcome there. */
  push(t, r) {
    if (this.pushed.has(t)) return;
    this.pushed.add(t);
    const work = this.sessions.map(async (s, i) => {
      const url = s.cache.url;
      if (r.push[url] === "already") return;
      try {
        const res = await s.add(outputsOf(t));
        const fail = res.failed[0];
        if (fail) r.push[url] = `failed: ${fail.path}: ${fail.error}`;
        else r.push[url] = [...res.outcomes.values()].includes("pushed") ? "pushed" : "already";
      } catch (e) {
        const reason = errorMessage(e);
        if (errorCode(e) === "unavailable" && s.down === reason && !this.health.reported.has(i)) {
          this.health.reported.add(i);
          this.emit({ type: "cache-down", cache: url, reason });
        }
        r.push[url] = `failed: ${reason}`;
      }
    });
    if (this.sessions.length > 0)
      this.emit({ type: "target", attr: t.attr, system: t.system, phase: "pushing" });
    this.pushing.push(
      Promise.all(work).then(() => {
        this.emit({ type: "target", attr: t.attr, system: t.system, phase: "done" });
      })
    );
  }
  /** Resolves when every push started has ended. */
  async finished() {
    await Promise.all(this.pushing);
  }
};
async function pushValid(toBuild, pusher) {
  const pending = /* @__PURE__ */ new Map();
  if (toBuild.length === 0) return pending;
  const invalid = await invalidPaths(toBuild.flatMap(({ t }) => outputsOf(t)));
  for (const { t, r } of toBuild) {
    if (outputsOf(t).some((o) => invalid.has(o))) pending.set(t, r);
    else pusher.push(t, r);
  }
  return pending;
}

// src/build/skip-cached.ts
async function probePushCaches(push2, needed, emit) {
  const down = await Promise.all(
    push2.map(
      (p) => !needed ? void 0 : p.cache.ensureCacheInfo().then(
        () => void 0,
        (e) => errorMessage(e)
      )
    )
  );
  const reported = /* @__PURE__ */ new Set();
  down.forEach((reason, i) => {
    const url = push2[i]?.cache.url;
    if (reason === void 0 || url === void 0) return;
    reported.add(i);
    emit({ type: "cache-down", cache: url, reason });
  });
  return { down, reported };
}
async function skipCached(push2, candidates, health) {
  const cachedIn = await Promise.all(
    push2.map(async (p, i) => {
      if (health.down[i] !== void 0) return /* @__PURE__ */ new Set();
      const lookup = new PathLookup([p.cache], p.trustedKeys, 32);
      const held = /* @__PURE__ */ new Set();
      await Promise.all(
        candidates.map(async ({ t }) => {
          const states = await Promise.all(
            outputsOf(t).map((o) => lookup.lookup(parseStorePath(o).hash).then((l) => l.state))
          );
          if (states.every((s) => s === "ok")) held.add(t);
        })
      );
      return held;
    })
  );
  return candidates.filter(({ t, r }) => {
    push2.forEach((p, i) => {
      if (cachedIn[i]?.has(t)) r.push[p.cache.url] = "already";
    });
    const cached = push2.length > 0 && cachedIn.every((held) => held.has(t));
    if (cached) r.status = "cached";
    return !cached;
  });
}

// src/build/store-logs.ts
import { writeFile } from "node:fs/promises";
import path3 from "node:path";
async function storeLogs(entries, logs, fullLogs, ctx) {
  const { opts, health, pusher, emit } = ctx;
  const refusedLogs = /* @__PURE__ */ new Set();
  const storeLog = async (t, r, text) => {
    if (!t.drvPath) return;
    const drv = path3.basename(t.drvPath);
    const pages = await Promise.all(
      opts.push.map(async ({ cache }, i) => {
        if (!cache.uploadBuildLog || refusedLogs.has(i) || health.down[i] !== void 0 || pusher.sessions[i]?.down !== void 0)
          return void 0;
        try {
          return (await cache.uploadBuildLog(drv, text, opts.signal)).dashboardUrl;
        } catch (e) {
          if (!refusedLogs.has(i) && !opts.signal?.aborted) {
            refusedLogs.add(i);
            emit({ type: "log-refused", cache: cache.url, reason: errorMessage(e) });
          }
          return void 0;
        }
      })
    );
    const page = pages.find((u) => u !== void 0);
    if (page !== void 0) r.logUrl = page;
  };
  await Promise.all(
    entries.map(async ({ t, r }) => {
      const lines = fullLogs.get(t) ?? (t.drvPath ? logs.get(t.drvPath) : void 0);
      if (!lines) return;
      r.logTail ??= lines.slice(-LOG_TAIL_LINES);
      const text = Buffer.from(lines.length > 0 ? `${lines.join("\n")}
` : "");
      const file = path3.join(opts.logDir, logName(t));
      await Promise.all([writeFile(file, text), storeLog(t, r, text)]);
      r.log = file;
    })
  );
}
function logName(t) {
  const base = `${t.system}.${t.attr}`.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 200);
  return `${base}.log`;
}

// src/build/summarise.ts
function summarise(report, sessions, health, opts, buildable, started) {
  const caches = sessions.length === 0 ? opts.push.map((p, i) => idle(p.cache.url, health.down[i])) : sessions.map((s) => pushSummary(s, report));
  const count = (s) => report.filter((r) => r.status === s).length;
  const pushOk = caches.every((c) => c.status === "ok");
  const buildOk = report.every(
    (r) => r.status === "cached" || r.status === "built" || r.status === "not-built-here"
  );
  return {
    targets: report,
    summary: {
      total: report.length,
      cached: count("cached"),
      built: count("built"),
      failed: count("failed"),
      notBuiltHere: count("not-built-here"),
      evalFailed: count("eval-failed"),
      systems: [...buildable],
      caches,
      upstreams: (opts.upstreams ?? []).map((u) => u.cache.url),
      logDir: opts.logDir,
      durationMs: Date.now() - started,
      ok: buildOk && (!opts.requirePush || pushOk)
    }
  };
}
function idle(url, reason) {
  return {
    url,
    status: reason === void 0 ? "ok" : "failed",
    ...reason === void 0 ? {} : { reason },
    pushedPaths: 0,
    alreadyPaths: 0,
    filteredPaths: 0,
    failedPaths: 0,
    narBytes: 0,
    fileBytes: 0
  };
}
function pushSummary(s, report) {
  const failedTargets = report.filter(
    (r) => r.push[s.cache.url]?.startsWith("failed: ") && r.status !== "failed"
  );
  const sum = s.summary;
  const out = {
    url: s.cache.url,
    status: s.down !== void 0 || sum.failed.length > 0 || failedTargets.length > 0 ? "failed" : "ok",
    pushedPaths: sum.pushed.length,
    alreadyPaths: sum.skipped.length,
    filteredPaths: sum.filtered.length,
    failedPaths: sum.failed.length,
    narBytes: sum.narBytes,
    fileBytes: sum.fileBytes
  };
  const reason = s.down ?? sum.failed[0]?.error;
  if (reason !== void 0) out.reason = reason;
  return out;
}

// src/build/watch-realisation.ts
import { mkdir } from "node:fs/promises";
async function watchRealisation(pending, pusher, opts, emit) {
  const logs = /* @__PURE__ */ new Map();
  await mkdir(opts.logDir, { recursive: true });
  const byDrv = /* @__PURE__ */ new Map();
  for (const t of pending.keys()) if (t.drvPath) byDrv.set(t.drvPath, t);
  let checking;
  let again = false;
  const check = async () => {
    const waiting = [...pending.keys()];
    if (waiting.length === 0) return;
    const invalid = await invalidPaths(waiting.flatMap(outputsOf));
    for (const t of waiting) {
      const r = pending.get(t);
      if (!r || outputsOf(t).some((o) => invalid.has(o))) continue;
      pending.delete(t);
      pusher.push(t, r);
    }
  };
  const tick = () => {
    if (checking) {
      again = true;
      return;
    }
    checking = check().catch(() => {
    }).finally(() => {
      checking = void 0;
      if (again) {
        again = false;
        tick();
      }
    });
  };
  const drvs = [...pending.keys()].map((t) => t.drvPath);
  const result2 = await realise(drvs, {
    keepGoing: opts.keepGoing,
    maxJobs: opts.maxJobs,
    cores: opts.cores,
    signal: opts.signal,
    onEvent: (e) => {
      if (e.type === "tick") tick();
      else if (e.type === "log") {
        const lines = logs.get(e.drv) ?? [];
        if (lines.length === 0) logs.set(e.drv, lines);
        lines.push(e.line);
      } else if (e.type === "build-started") {
        if (!logs.has(e.drv)) logs.set(e.drv, []);
        const t = byDrv.get(e.drv);
        if (t) emit({ type: "target", attr: t.attr, system: t.system, phase: "building" });
      }
    }
  });
  while (checking) await checking;
  await check();
  return { result: result2, logs };
}

// src/build/build.ts
async function build(opts) {
  const started = Date.now();
  const emit = opts.onEvent ?? (() => {
  });
  const buildable = new Set(buildableSystems(opts.nixConfig ?? await readNixConfig()));
  const targets = opts.targets ?? (await resolveTargets(opts)).targets;
  const entries = initialEntries(targets, buildable);
  const candidates = entries.filter((e) => e.r.status === "built");
  const health = await probePushCaches(opts.push, candidates.length > 0, emit);
  const toBuild = await skipCached(opts.push, candidates, health);
  emit({
    type: "evaluated",
    targets: targets.length,
    toBuild: toBuild.length,
    cached: candidates.length - toBuild.length,
    notBuiltHere: entries.filter((e) => e.r.status === "not-built-here").length
  });
  const pusher = await TargetPusher.start(opts, toBuild.length > 0, health, emit);
  const pending = await pushValid(toBuild, pusher);
  const realised = pending.size > 0 ? await watchRealisation(pending, pusher, opts, emit) : void 0;
  const failureLogs = realised ? await attributeFailures(pending, realised, pusher, opts, emit) : /* @__PURE__ */ new Map();
  await storeLogs(entries, realised?.logs ?? /* @__PURE__ */ new Map(), failureLogs, { opts, health, pusher, emit });
  await pusher.finished();
  return summarise(
    entries.map((e) => e.r),
    pusher.sessions,
    health,
    opts,
    buildable,
    started
  );
}

// src/build/render.ts
import { randomUUID } from "node:crypto";

// src/report/workflow-commands.ts
var escData = (s) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
function foldedLines(title, lines, token) {
  return [
    `::group::${escData(title)}`,
    `::stop-commands::${token}`,
    ...lines,
    `::${token}::`,
    "::endgroup::",
    ""
  ].join("\n");
}

// src/util/bytes.ts
function formatBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

// src/build/types.ts
function targetOutcome(t) {
  const o = {
    attr: t.attr,
    system: t.system,
    status: t.status,
    outPath: t.outPath,
    push: t.push,
    log: t.log
  };
  if (t.logUrl !== void 0) o.logUrl = t.logUrl;
  return o;
}

// src/build/render.ts
var LABEL = {
  cached: "cached",
  built: "built",
  failed: "FAILED",
  "not-built-here": "not built here",
  "eval-failed": "EVAL FAILED"
};
function bySystem(targets) {
  const m = /* @__PURE__ */ new Map();
  for (const t of targets) m.set(t.system, [...m.get(t.system) ?? [], t]);
  return [...m].sort(([a], [b]) => a.localeCompare(b));
}
function pushText(t) {
  const parts = Object.entries(t.push).map(([url, s]) => `${url}: ${s}`);
  return parts.join("; ");
}
function buildSummaryLine(r) {
  const s = r.summary;
  const bits = [`${s.built} built`, `${s.cached} cached`];
  if (s.failed) bits.push(`${s.failed} FAILED`);
  if (s.evalFailed) bits.push(`${s.evalFailed} failed to evaluate`);
  if (s.notBuiltHere) bits.push(`${s.notBuiltHere} not built here`);
  return `${bits.join(", ")} (of ${s.total} targets)`;
}
function cacheLines(r) {
  return r.summary.caches.map((c) => {
    const what = `${c.pushedPaths} paths pushed (${formatBytes(c.narBytes)} of NAR → ${formatBytes(c.fileBytes)}), ${c.alreadyPaths} already there` + (c.filteredPaths ? `, ${c.filteredPaths} served upstream` : "") + (c.failedPaths ? `, ${c.failedPaths} FAILED` : "");
    return c.status === "ok" ? `${c.url}: ${what}` : `${c.url}: FAILED: ${c.reason ?? "some targets failed to push"}; ${what}`;
  });
}
function formatBuildTable(r) {
  const out = [];
  for (const [system, ts] of bySystem(r.targets)) {
    out.push(`${system}`);
    const w = Math.max(...ts.map((t) => t.attr.length));
    for (const t of ts) {
      const detail2 = t.error ?? pushText(t);
      out.push(`  ${t.attr.padEnd(w)}  ${LABEL[t.status].padEnd(14)}  ${detail2}`);
    }
  }
  if (r.targets.length === 0) out.push("no targets selected");
  out.push("", ...cacheLines(r));
  out.push(buildSummaryLine(r));
  return `${out.join("\n")}
`;
}
function formatLogGroups(r, token = randomUUID()) {
  const out = [];
  for (const t of r.targets) {
    if (!t.logTail || t.status !== "built" && t.status !== "failed") continue;
    const title = `${t.attr} (${t.system}): ${t.status === "failed" ? `FAILED: ${t.error ?? "build failed"}` : "built"}`;
    const where = [...t.logUrl ? [`whole log: ${t.logUrl}`] : [], ...t.log ? [`log file: ${t.log}`] : []];
    out.push(
      foldedLines(title, [...t.logTail.map(cleanLogLine), ...where.length ? ["", ...where] : []], token)
    );
  }
  return out.join("");
}
var md = (s) => s.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`);
function formatBuildMarkdown(r) {
  const out = [`### nixcache build: ${r.summary.ok ? "✅" : "❌"} ${buildSummaryLine(r)}`, ""];
  const caches = r.summary.caches.map((c) => c.url);
  out.push(`| system | target | status | ${caches.map(md).join(" | ")} |`);
  out.push(`|---|---|---|${caches.map(() => "---|").join("")}`);
  for (const [system, ts] of bySystem(r.targets))
    for (const t of ts)
      out.push(
        `| ${md(system)} | \`${t.attr.replace(/`/g, "'")}\` | ${LABEL[t.status]}${t.error ? `: ${md(t.error)}` : ""} | ${caches.map((c) => md(t.push[c] ?? "")).join(" | ")} |`
      );
  out.push("", ...cacheLines(r).map((l) => `- ${md(l)}`), "");
  return `${out.join("\n")}
${formatFailedLogsMarkdown(r.targets)}`;
}
var html = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
var SUMMARY_LOG_BUDGET = 512 * 1024;
function formatFailedLogsMarkdown(targets) {
  const out = [];
  let used = 0;
  let left = 0;
  for (const t of targets) {
    if (t.status !== "failed" || !t.logTail) continue;
    const lines = t.logTail.map((l) => shownLineText(l));
    const longest = Math.max(
      0,
      ...lines.map((l) => Math.max(0, ...(l.match(/`+/g) ?? []).map((m) => m.length)))
    );
    const fence = "`".repeat(Math.max(3, longest + 1));
    const block = [
      `<details><summary>❌ <code>${html(t.attr)}</code> (${html(t.system)}): the last ${lines.length} line${lines.length === 1 ? "" : "s"} of its build log</summary>`,
      "",
      `${fence}text`,
      ...lines,
      fence,
      "",
      ...t.logUrl ? [`[The whole log](${t.logUrl.replace(/[()\s]/g, encodeURIComponent)})`, ""] : [],
      "</details>",
      "",
      ""
    ].join("\n");
    const bytes = Buffer.byteLength(block);
    if (used + bytes > SUMMARY_LOG_BUDGET) {
      left++;
      continue;
    }
    used += bytes;
    out.push(block);
  }
  if (left > 0)
    out.push(`${left} more failed target${left === 1 ? "" : "s"}: their logs are in the job log.

`);
  return out.join("");
}
function buildAnnotations(r) {
  const out = [];
  for (const t of r.targets)
    if (t.status === "failed" || t.status === "eval-failed")
      out.push({ title: `nixcache build: ${t.attr}`, message: `${t.system}: ${t.error ?? t.status}` });
  for (const c of r.summary.caches)
    if (c.status === "failed")
      out.push({ title: `nixcache push: ${c.url}`, message: c.reason ?? "some paths failed" });
  return out;
}
function buildJson(r) {
  return {
    targets: r.targets.map((t) => ({
      ...targetOutcome(t),
      ...t.error !== void 0 ? { error: t.error } : {}
    })),
    summary: r.summary
  };
}
function pushedPaths(r) {
  return r.summary.caches.reduce((n, c) => n + c.pushedPaths, 0);
}

// src/build/setup.ts
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path4 from "node:path";
function parsePublicKeys(texts, flag) {
  return texts.map((k, i) => {
    try {
      return parsePublicKey(k);
    } catch (e) {
      throw new NixcacheError("usage", `${flag} #${i + 1}: ${e.message}`);
    }
  });
}
async function openPushTargets(urls, o = {}) {
  const given = Promise.resolve(o.nixConfig).then((nixConfig) => [
    ...o.trustedKeys ?? [],
    ...o.signingKey ? [publicKeyOf(o.signingKey)] : [],
    ...keysFrom(nixConfig?.trustedPublicKeys ?? [])
  ]);
  given.catch(() => {
  });
  const seen = /* @__PURE__ */ new Set();
  const out = [];
  try {
    for (const url of urls) {
      if (seen.has(url)) throw new NixcacheError("usage", `--push ${url} is given twice`);
      seen.add(url);
      let cache;
      const token = cacheToken(url, o.token);
      try {
        cache = await openCache(url, {
          token,
          netrcFile: o.netrcFile,
          cachixApi: o.cachixApi,
          connections: o.connections ?? 16
        });
      } catch (e) {
        throw new NixcacheError("usage", `--push ${url}: ${e.message}`);
      }
      out.push({ cache, trustedKeys: await trustedKeysFor(cache, given, token) });
    }
  } catch (e) {
    await Promise.all(out.map((p) => p.cache.close()));
    throw e;
  }
  return out;
}
async function openUpstreams(choice, nixConfig) {
  if (choice.disabled) return [];
  const norm = (u) => u.replace(/\/+$/, "");
  const urls = choice.urls ?? (nixConfig.substituters.map(norm).includes(NIXOS_CACHE) ? [NIXOS_CACHE] : []);
  const machine = keysFrom(nixConfig.trustedPublicKeys);
  const out = [];
  for (const url of urls) {
    const keys = [...choice.keys ?? [], ...machine];
    if (norm(url) === NIXOS_CACHE) keys.push(parsePublicKey(NIXOS_CACHE_KEY));
    if (keys.length === 0)
      throw new NixcacheError(
        "usage",
        `--upstream ${url} needs --upstream-key (paths are only left out when signed by a key you trust)`
      );
    let cache;
    try {
      cache = await openCache(url, {});
    } catch (e) {
      throw new NixcacheError("usage", `--upstream ${url}: ${e.message}`);
    }
    out.push({ cache, keys });
  }
  return out;
}
async function prepareBuild(s) {
  const jobs = s.jobs ?? 8;
  let push2 = [];
  let upstreams = [];
  const close = async () => {
    await Promise.all([...push2.map((p) => p.cache.close()), ...upstreams.map((u) => u.cache.close())]);
  };
  try {
    push2 = await openPushTargets(s.push, {
      token: s.token,
      netrcFile: s.netrcFile,
      cachixApi: s.cachixApi,
      trustedKeys: s.trustedKeys,
      signingKey: s.signingKey,
      nixConfig: s.nixConfig,
      connections: Math.max(16, jobs * 2)
    });
    upstreams = await openUpstreams(s.upstream ?? {}, await s.nixConfig);
  } catch (e) {
    await close();
    throw e;
  }
  const logDir = s.logDir ?? await mkdtemp(path4.join(tmpdir(), "nixcache-logs-"));
  const options = {
    nixConfig: await s.nixConfig,
    push: push2,
    upstreams,
    keepGoing: s.keepGoing === true,
    logDir,
    requirePush: s.requirePush === true,
    pushOptions: {
      compression: s.compression ?? "zstd",
      level: s.compressionLevel,
      jobs,
      signingKey: s.signingKey
    }
  };
  if (s.targets !== void 0) options.targets = s.targets;
  if (s.maxJobs !== void 0) options.maxJobs = s.maxJobs;
  if (s.cores !== void 0) options.cores = s.cores;
  return { options, close };
}

// src/verify/verify.ts
var hashOf = (path7) => parseStorePath(path7).hash;
async function checkTarget(t, lookup, closure) {
  const base = { attr: t.attr, system: t.system, name: t.name, outPath: t.outPath };
  if (t.error !== void 0 || t.outPath === null) {
    return {
      ...base,
      status: "error",
      cache: null,
      missing: [],
      unsigned: [],
      closureSize: null,
      error: t.error ?? "no output path"
    };
  }
  const top = await lookup.lookup(hashOf(t.outPath));
  const problems = top.state === "missing" ? top.problems : [];
  const result2 = {
    ...base,
    status: top.state,
    cache: top.state === "ok" ? top.cache : null,
    missing: top.state === "missing" ? [t.outPath] : [],
    unsigned: top.state === "unsigned" ? [t.outPath] : [],
    closureSize: null
  };
  if (closure && top.state !== "missing") {
    const seen = /* @__PURE__ */ new Set([t.outPath]);
    let found = 1;
    const follow = async (l) => {
      if (l.state === "missing") return;
      const next = [];
      for (const ref of l.narInfo.references) {
        const p = `${DEFAULT_STORE_DIR}/${ref}`;
        if (!seen.has(p)) {
          seen.add(p);
          next.push(p);
        }
      }
      await Promise.all(
        next.map(async (p) => {
          const r = await lookup.lookup(parseStorePathBase(p.slice(DEFAULT_STORE_DIR.length + 1)).hash);
          if (r.state === "missing") {
            result2.missing.push(p);
            problems.push(...r.problems);
          } else {
            found++;
            if (r.state === "unsigned") result2.unsigned.push(p);
          }
          await follow(r);
        })
      );
    };
    await follow(top);
    result2.closureSize = found;
    if (result2.status === "ok" && (result2.missing.length > 0 || result2.unsigned.length > 0))
      result2.status = "incomplete";
  }
  result2.missing.sort();
  result2.unsigned.sort();
  if (problems.length > 0) result2.error = [...new Set(problems)].join("; ");
  return result2;
}
function counts(checks) {
  const c = { ok: 0, missing: 0, unsigned: 0, incomplete: 0, error: 0, total: checks.length };
  for (const t of checks) c[t.status]++;
  return c;
}
var defaultSleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function verifyTargets(targets, opts) {
  const closure = opts.closure ?? false;
  const lookup = new PathLookup(opts.caches, opts.trustedKeys, opts.concurrency ?? 32);
  const start = Date.now();
  const sleep2 = opts.sleep ?? defaultSleep;
  const checks = new Array(targets.length);
  let pending = targets.map((_, i) => i);
  let rounds = 0;
  for (; ; ) {
    rounds++;
    let done = 0;
    opts.onProgress?.({ phase: "check", done, total: pending.length });
    await Promise.all(
      pending.map(async (i) => {
        checks[i] = await checkTarget(targets[i], lookup, closure);
        opts.onProgress?.({ phase: "check", done: ++done, total: pending.length });
      })
    );
    pending = pending.filter((i) => {
      const s = checks[i].status;
      return s !== "ok" && s !== "error";
    });
    if (pending.length === 0 || !opts.wait) break;
    const elapsed = Date.now() - start;
    const remainingMs = opts.wait.timeoutMs - elapsed;
    if (remainingMs < opts.wait.intervalMs) break;
    opts.onProgress?.({
      phase: "wait",
      incomplete: pending.length,
      total: targets.length,
      nextInMs: opts.wait.intervalMs,
      remainingMs
    });
    await sleep2(opts.wait.intervalMs);
    await lookup.forgetIncomplete();
  }
  const c = counts(checks);
  return {
    caches: opts.caches.map((x) => x.url),
    trustedKeys: opts.trustedKeys.map((k) => k.name),
    signaturesChecked: opts.trustedKeys.length > 0,
    closure,
    complete: c.ok === c.total,
    counts: c,
    targets: checks,
    pathsChecked: lookup.size,
    requests: lookup.requests,
    rounds
  };
}
function verifyExitCode(r) {
  if (r.counts.error > 0) return 2;
  return r.complete ? 0 : 1;
}

// src/ci/ci.ts
async function ci(opts) {
  const b = await build(opts);
  const targets = opts.targets ?? [];
  const keys = /* @__PURE__ */ new Map();
  for (const p of opts.push)
    for (const k of p.trustedKeys) keys.set(`${k.name}:${k.key.toString("base64")}`, k);
  for (const u of opts.upstreams ?? [])
    for (const k of u.keys) keys.set(`${k.name}:${k.key.toString("base64")}`, k);
  const v = await verifyTargets(targets, {
    caches: [...opts.push.map((p) => p.cache), ...(opts.upstreams ?? []).map((u) => u.cache)],
    trustedKeys: [...keys.values()],
    closure: true,
    concurrency: opts.verifyConcurrency ?? 32
  });
  const merged = b.targets.map((t, i) => {
    const check = v.targets[i];
    const out = {
      ...targetOutcome(t),
      verify: check?.status ?? "error",
      missing: [...check?.missing ?? [], ...check?.unsigned ?? []]
    };
    const error2 = t.error ?? (check?.status !== "ok" ? check?.error : void 0);
    if (error2 !== void 0) out.error = error2;
    return out;
  });
  const here = merged.filter((t) => t.status !== "not-built-here");
  const notSubstitutable = here.filter((t) => t.verify !== "ok").length;
  const otherSystemsMissing = merged.filter((t) => t.status === "not-built-here" && t.verify !== "ok").length;
  return {
    targets: merged,
    build: b,
    verify: v,
    drvPaths: b.targets.map((_, i) => targets[i]?.drvPath ?? null),
    summary: { ok: b.summary.ok && notSubstitutable === 0, notSubstitutable, otherSystemsMissing }
  };
}

// src/report/dashboard-report.ts
import { execFile } from "node:child_process";

// src/ui-api/types.ts
var REPORT_MAX_LISTED = 50;

// src/report/dashboard-report.ts
var MAX_DETAIL = 500;
function detailText(s) {
  if (s === void 0 || s === "") return void 0;
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > MAX_DETAIL ? `${one.slice(0, MAX_DETAIL - 1)}…` : one;
}
function listed(paths) {
  return { paths: paths.slice(0, REPORT_MAX_LISTED), count: paths.length };
}
function verifyCell(t) {
  const missing = listed(t.missing);
  const unsigned = listed(t.unsigned);
  const status = t.status === "error" ? "eval-failed" : t.status === "ok" ? "ok" : t.status === "unsigned" || t.status === "incomplete" && t.missing.length === 0 ? "unsigned" : "missing";
  const cell2 = {
    status,
    missing: missing.paths,
    missingCount: missing.count,
    unsigned: unsigned.paths,
    unsignedCount: unsigned.count
  };
  const detail2 = status === "ok" ? void 0 : detailText(t.error);
  if (detail2 !== void 0) cell2.detail = detail2;
  return cell2;
}
function verifyDashboardReport(r, ctx, ok) {
  return {
    version: 1,
    kind: "verify",
    commit: ctx.commit,
    branch: ctx.branch,
    run: ctx.run,
    ok,
    targets: r.targets.map((t) => ({ attr: t.attr, system: t.system, outPath: t.outPath, ...verifyCell(t) }))
  };
}
function git(dir, args) {
  return new Promise((resolve) => {
    execFile(
      "git",
      ["-C", dir, ...args],
      { timeout: 5e3, encoding: "utf8" },
      (err, out) => resolve(err ? void 0 : out.trim() || void 0)
    );
  });
}
async function reportContext(o, env = process.env) {
  const inActions = env.GITHUB_ACTIONS === "true";
  let commit = o.commit ?? (inActions ? env.GITHUB_SHA : void 0);
  let branch = o.branch ?? (inActions ? env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME : void 0);
  if (o.dir !== void 0 && (commit === void 0 || branch === void 0)) {
    const [c, b] = await Promise.all([
      commit === void 0 ? git(o.dir, ["rev-parse", "HEAD"]) : commit,
      branch === void 0 ? git(o.dir, ["rev-parse", "--abbrev-ref", "HEAD"]) : branch
    ]);
    commit = c;
    branch = b === "HEAD" ? void 0 : b;
  }
  const hex = commit?.toLowerCase();
  return {
    commit: hex !== void 0 && /^[0-9a-f]{4,64}$/.test(hex) ? hex : null,
    branch: branch ? branch.slice(0, 255) : null,
    run: ciRun(env) ?? null
  };
}
async function sendDashboardReport(report, o) {
  const urls = o.explicit !== void 0 ? [o.explicit] : o.candidates.filter((u) => /^https?:\/\//i.test(u));
  for (const url of urls) {
    let cache;
    try {
      cache = await o.open(url);
      if (!await cache.isNixcacheServer()) {
        if (o.explicit !== void 0)
          return { kind: "failed", cache: url, reason: "it is not a nixcache server (or did not answer)" };
        continue;
      }
      const r = await cache.uploadReport(report);
      return { kind: "uploaded", cache: url, id: r.id, url: r.url };
    } catch (e) {
      return { kind: "failed", cache: url, reason: errorMessage(e) };
    } finally {
      await cache?.close();
    }
  }
  return { kind: "none", reason: "no cache is a nixcache server" };
}

// src/ci/dashboard-report.ts
function ciDashboardReport(r, ctx) {
  const targets = r.targets.map((t, i) => {
    const check = r.verify.targets[i];
    const base = { attr: t.attr, system: t.system, outPath: t.outPath };
    if (t.status === "eval-failed" || !check)
      return {
        ...base,
        status: "eval-failed",
        missing: [],
        missingCount: 0,
        unsigned: [],
        unsignedCount: 0,
        ...detailText(t.error) ? { detail: detailText(t.error) } : {}
      };
    const cell2 = { ...base, ...verifyCell(check) };
    if (t.status === "not-built-here" && cell2.status === "missing") {
      cell2.status = "not-built";
      delete cell2.detail;
    } else if (t.status === "failed") {
      cell2.detail = detailText(`build failed${t.error ? `: ${t.error}` : ""}`);
    }
    const drv = r.drvPaths[i];
    if (drv && (t.status === "built" || t.status === "failed" || t.status === "cached")) cell2.drvPath = drv;
    return cell2;
  });
  return {
    version: 1,
    kind: "ci",
    commit: ctx.commit,
    branch: ctx.branch,
    run: ctx.run,
    ok: r.summary.ok,
    targets
  };
}

// src/ci/render.ts
var VERIFY_LABEL = {
  ok: "substitutable",
  missing: "NOT IN CACHE",
  unsigned: "UNSIGNED",
  incomplete: "CLOSURE INCOMPLETE",
  error: "-"
};
function bySystem2(targets) {
  const m = /* @__PURE__ */ new Map();
  for (const t of targets) m.set(t.system, [...m.get(t.system) ?? [], t]);
  return [...m].sort(([a], [b]) => a.localeCompare(b));
}
function detail(t) {
  if (t.error) return t.error;
  if (t.missing.length > 0)
    return `lacks ${t.missing.slice(0, 3).join(", ")}${t.missing.length > 3 ? ` and ${t.missing.length - 3} more` : ""}`;
  const failed = Object.entries(t.push).filter(([, s]) => s.startsWith("failed"));
  return failed.map(([u, s]) => `${u}: ${s}`).join("; ");
}
function ciSummaryLine(r) {
  const v = r.verify.counts;
  const bits = [buildSummaryLine(r.build), `${v.ok}/${v.total} substitutable`];
  if (r.summary.otherSystemsMissing)
    bits.push(`${r.summary.otherSystemsMissing} of other systems not in the cache yet`);
  return bits.join("; ");
}
function formatCiTable(r) {
  const out = [];
  for (const [system, ts] of bySystem2(r.targets)) {
    out.push(system);
    const w = Math.max(...ts.map((t) => t.attr.length));
    for (const t of ts)
      out.push(
        `  ${t.attr.padEnd(w)}  ${t.status.padEnd(14)}  ${VERIFY_LABEL[t.verify].padEnd(18)}  ${detail(t)}`
      );
  }
  if (r.targets.length === 0) out.push("no targets selected");
  out.push("", `${r.summary.ok ? "OK" : "FAILED"}: ${ciSummaryLine(r)}`);
  return `${out.join("\n")}
`;
}
var md2 = (s) => s.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`);
function formatCiMarkdown(r) {
  const out = [`### nixcache ci: ${r.summary.ok ? "✅" : "❌"} ${md2(ciSummaryLine(r))}`, ""];
  out.push("| system | target | build | in the cache | detail |", "|---|---|---|---|---|");
  for (const [system, ts] of bySystem2(r.targets))
    for (const t of ts)
      out.push(
        `| ${md2(system)} | \`${t.attr.replace(/`/g, "'")}\` | ${t.status} | ${VERIFY_LABEL[t.verify]} | ${md2(detail(t))} |`
      );
  return `${out.join("\n")}

${formatFailedLogsMarkdown(r.build.targets)}`;
}
function ciAnnotations(r) {
  const out = buildAnnotations(r.build);
  for (const t of r.targets)
    if (t.status !== "not-built-here" && t.status !== "failed" && t.status !== "eval-failed" && t.verify !== "ok")
      out.push({
        title: `nixcache ci: ${t.attr}`,
        message: `${t.system}: ${VERIFY_LABEL[t.verify]}: ${detail(t)}`
      });
  return out;
}
function ciJson(r) {
  const build2 = buildJson(r.build);
  return {
    targets: r.targets,
    summary: {
      ...r.summary,
      build: build2.summary,
      verify: { complete: r.verify.complete, counts: r.verify.counts }
    }
  };
}

// src/flags/build-setup.ts
var CLI_WORDING = { prefix: "", upstream: "--upstream" };
function checkBuildFlags(f, w = CLI_WORDING) {
  if (f.upstreamKey && f.upstream === void 0)
    throw new NixcacheError("usage", `${w.prefix}--upstream-key needs ${w.upstream}`);
  parsePublicKeys(f.trustedKey ?? [], `${w.prefix}--trusted-key`);
  parsePublicKeys(f.upstreamKey ?? [], `${w.prefix}--upstream-key`);
}
function buildSetupOf(f, given, w = CLI_WORDING) {
  checkBuildFlags(f, w);
  const upstream = {
    disabled: f.upstream === false,
    keys: parsePublicKeys(f.upstreamKey ?? [], `${w.prefix}--upstream-key`)
  };
  if (f.upstream) upstream.urls = f.upstream;
  const s = {
    push: given.push,
    nixConfig: given.nixConfig,
    token: f.token,
    netrcFile: f.netrcFile,
    cachixApi: f.cachixApi,
    trustedKeys: parsePublicKeys(f.trustedKey ?? [], `${w.prefix}--trusted-key`),
    signingKey: given.signingKey,
    upstream,
    keepGoing: f.keepGoing === true,
    requirePush: f.requirePush === true,
    compression: f.compression,
    compressionLevel: f.compressionLevel,
    jobs: f.jobs
  };
  if (given.targets !== void 0) s.targets = given.targets;
  if (f.logDir !== void 0) s.logDir = f.logDir;
  if (f.maxJobs !== void 0) s.maxJobs = f.maxJobs;
  if (f.cores !== void 0) s.cores = f.cores;
  return s;
}

// src/github/checks.ts
var DEFAULT_MAX_STATUSES = 50;
var GitHubChecks = class {
  run;
  max;
  /** When to comment; the Garnix config's `commentOnFailure` may set it once targets are read. */
  mode;
  notify;
  client;
  /** GitHub answers one write at a time best (its secondary limits punish bursts). */
  serial = pLimit(1);
  /** Contexts this run wrote (or will): the cap counts them. */
  taken = /* @__PURE__ */ new Set();
  /** This run's newest word per context, for the comment when a write did not land. */
  said = /* @__PURE__ */ new Map();
  statusesOff;
  commentsOff;
  warned = /* @__PURE__ */ new Set();
  /** Individual statuses left out by the cap. */
  unreported = 0;
  constructor(o) {
    this.run = o.run;
    this.max = o.maxStatuses ?? DEFAULT_MAX_STATUSES;
    this.mode = o.prComment ?? "auto";
    this.notify = o.notify;
    this.client = githubClient({ token: o.token, apiUrl: o.run.apiUrl });
  }
  warnOnce(key, message) {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.notify.warning(message);
  }
  /** The message for a refused call, naming the permission the workflow must grant. */
  refused(e, permission, what) {
    const err = e;
    const said = typeof err.response?.data?.message === "string" ? ` (${err.response.data.message})` : "";
    const wait = rateLimitWait(e);
    if (wait !== void 0)
      return `${what}: GitHub's rate limit${wait === null ? "" : ` asks to wait ${Math.ceil(wait / 1e3)} s`}, longer than nixcache waits; the rest are not written`;
    if (err.status === 401) return `${what}: HTTP 401${said}: the GitHub token is invalid or expired`;
    if (err.status === 403 || err.status === 404)
      return `${what}: HTTP ${err.status}${said}: the job's token needs \`permissions: ${permission}\` (in the workflow, for this job)`;
    return `${what}: ${err.status ? `HTTP ${err.status}${said}` : errorMessage(e)}`;
  }
  /** Whether a pending status for each of `count` targets fits under the cap. */
  pendingFits(count) {
    return count <= this.max;
  }
  write(u, counted) {
    this.said.set(u.context, u);
    if (counted && !this.taken.has(u.context)) {
      if (this.taken.size >= this.max) {
        this.unreported++;
        return Promise.resolve();
      }
      this.taken.add(u.context);
    }
    return this.serial(async () => {
      if (this.statusesOff !== void 0) return;
      try {
        const gh = await this.client;
        await gh.rest.repos.createCommitStatus({
          owner: this.run.owner,
          repo: this.run.repo,
          sha: this.run.sha,
          state: u.state,
          context: u.context,
          description: u.description,
          ...u.targetUrl !== void 0 ? { target_url: u.targetUrl } : {},
          // Writing the same status twice is harmless: a 5xx may be retried.
          request: { idempotent: true }
        });
      } catch (e) {
        const status = e.status;
        const fatal = rateLimitWait(e) !== void 0 || status === 401 || status === 403 || status === 404;
        const msg = this.refused(e, "statuses: write", `commit status "${u.context}" not written`);
        if (fatal) {
          this.statusesOff = msg;
          this.warnOnce("statuses", msg);
        } else this.warnOnce(`status:${status ?? "net"}`, msg);
      }
    });
  }
  /** A target's status (counted against --max-statuses). */
  status(u) {
    return this.write(u, true);
  }
  /** Final statuses of many targets: failures first, so the cap leaves out successes. */
  async statuses(list) {
    await Promise.all(failuresFirst(list).map((u) => this.write(u, true)));
  }
  /** The aggregate, `All nixcache checks` (never counted against the cap). */
  aggregate(u) {
    return this.write({ ...u, context: AGGREGATE_CONTEXT }, false);
  }
  async pullRequests(gh) {
    if (this.run.pullRequest !== void 0) return [this.run.pullRequest];
    if (this.run.event !== "push" && this.run.event !== "workflow_dispatch") return [];
    const r = await gh.rest.repos.listPullRequestsAssociatedWithCommit({
      owner: this.run.owner,
      repo: this.run.repo,
      commit_sha: this.run.sha,
      per_page: 100
    });
    return r.data.filter((p) => p.state === "open" && p.head.sha === this.run.sha).map((p) => p.number);
  }
  /**
   * Creates or edits the pull request's comment from the commit's nixcache statuses (every
   * system's job writes them; this run's own word wins where its write did not land).
   */
  async comment() {
    if (this.mode === "never" || this.commentsOff !== void 0) return;
    try {
      const gh = await this.client;
      const prs = await this.pullRequests(gh);
      if (prs.length === 0) return;
      const { owner, repo, sha } = this.run;
      let listed2 = [];
      try {
        listed2 = await gh.paginate(gh.rest.repos.listCommitStatusesForRef, {
          owner,
          repo,
          ref: sha,
          per_page: 100
        });
      } catch (e) {
        this.warnOnce("list-statuses", this.refused(e, "statuses: read", "the commit's statuses not read"));
      }
      const byContext = new Map(
        latestNixcacheStatuses(listed2, new Set(this.said.keys())).map((s) => [s.context, s])
      );
      for (const u of this.said.values())
        byContext.set(u.context, {
          context: u.context,
          state: u.state,
          description: u.description,
          target_url: u.targetUrl ?? null
        });
      const content = prCommentBody([...byContext.values()], {
        sha,
        ...this.run.runUrl !== void 0 ? { runUrl: this.run.runUrl } : {}
      });
      for (const number of prs) {
        const comments = await gh.paginate(gh.rest.issues.listComments, {
          owner,
          repo,
          issue_number: number,
          per_page: 100
        });
        const mine = comments.find((c) => c.body?.includes(PR_COMMENT_MARKER));
        if (mine) {
          if (mine.body !== content.body)
            await gh.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body: content.body });
        } else if (this.mode === "always" || content.failed > 0) {
          await gh.rest.issues.createComment({ owner, repo, issue_number: number, body: content.body });
        }
      }
    } catch (e) {
      const msg = this.refused(e, "pull-requests: write", "the pull-request comment not written");
      this.commentsOff = msg;
      this.warnOnce("comment", msg);
    }
  }
  /** Waits for every write in flight. */
  async settle() {
    await this.serial(async () => {
    });
  }
};

// src/github/target-checks.ts
function openGitHubChecks(c) {
  if (c.enabled === false) return void 0;
  const env = c.env ?? process.env;
  const found = githubRun(env);
  if ("missing" in found) {
    if (c.enabled === true) throw new NixcacheError("usage", `--github-status: ${found.missing}`);
    return void 0;
  }
  const token = c.token || githubToken(env);
  if (!token) {
    const why = "no GitHub token (GITHUB_TOKEN, or the Action's github-token input): commit statuses and the pull-request comment are not written";
    if (c.enabled === true) throw new NixcacheError("usage", `--github-status: ${why}`);
    c.notify.notice(why);
    return void 0;
  }
  if (found.run.fork) {
    c.notify.notice(
      "this pull request comes from a fork, whose token is read-only: commit statuses and the pull-request comment are skipped"
    );
    return void 0;
  }
  return new GitHubChecks({
    run: found.run,
    token,
    notify: c.notify,
    ...c.maxStatuses !== void 0 ? { maxStatuses: c.maxStatuses } : {},
    ...c.prComment !== void 0 ? { prComment: c.prComment } : {}
  });
}
var TargetChecks = class {
  constructor(checks, runnerSystems, buildable) {
    this.checks = checks;
    this.buildable = buildable;
    this.runnerSystems = (runnerSystems ?? []).flatMap((s) => s.split(",")).filter(Boolean);
  }
  checks;
  buildable;
  started = /* @__PURE__ */ new Map();
  ended = /* @__PURE__ */ new Map();
  pendingOk = false;
  runnerSystems;
  /**
   * Whether this job reports the target: every target of a system it builds, and those of
   * systems no job of the workflow builds; another system's job reports its own.
   */
  reports(t) {
    if (this.buildable.includes(t.system)) return true;
    return !this.runnerSystems.includes(t.system);
  }
  /** Before the build: pending statuses only when every target's status fits under the cap. */
  begin(targets) {
    this.pendingOk = this.checks.pendingFits(targets.filter((t) => this.reports(t)).length);
  }
  /** Build events: `pending` as a target starts building; its duration for the final word. */
  event(e) {
    if (e.type !== "target" || e.attr === void 0 || e.system === void 0) return;
    const key = `${e.system}\0${e.attr}`;
    if (e.phase === "building" && !this.started.has(key)) {
      this.started.set(key, Date.now());
      if (this.pendingOk && this.reports({ system: e.system }))
        void this.checks.status({
          context: statusContext(e.attr),
          state: "pending",
          description: statusDescription(`building on ${e.system}`),
          ...this.checks.run.runUrl !== void 0 ? { targetUrl: this.checks.run.runUrl } : {}
        });
    } else if (e.phase === "done" || e.phase === "failed") this.ended.set(key, Date.now());
  }
  /** The final statuses of the targets this job reports. */
  async finish(targets, ci2) {
    const list = [];
    for (const t of targets) {
      if (!this.reports(t)) continue;
      const key = `${t.system}\0${t.attr}`;
      const start = this.started.get(key);
      const end = this.ended.get(key);
      list.push(
        targetStatus(t, {
          ...start !== void 0 && end !== void 0 ? { durationMs: end - start } : {},
          ...this.checks.run.runUrl !== void 0 ? { jobUrl: this.checks.run.runUrl } : {}
        })
      );
    }
    await this.checks.statuses(list);
    if (ci2)
      await aggregateFinal(
        this.checks,
        targets.map((t) => ({ attr: t.attr, system: t.system, ok: t.verify === "ok" })),
        ci2.reportUrl
      );
    else await endChecks(this.checks);
  }
};
function aggregatePending(checks, what) {
  return checks.aggregate({
    state: "pending",
    description: statusDescription(what),
    ...checks.run.runUrl !== void 0 ? { targetUrl: checks.run.runUrl } : {}
  });
}
async function endChecks(checks) {
  await checks.comment();
  await checks.settle();
}
async function aggregateFinal(checks, targets, reportUrl) {
  const url = reportUrl ?? checks.run.runUrl;
  const u = aggregateStatus(targets, {
    ...url !== void 0 ? { targetUrl: url } : {},
    unreported: checks.unreported
  });
  await checks.aggregate(u);
  await endChecks(checks);
}
async function aggregateError(checks, message) {
  await checks.aggregate({
    state: "error",
    description: statusDescription(`did not finish: ${message}`),
    ...checks.run.runUrl !== void 0 ? { targetUrl: checks.run.runUrl } : {}
  });
  await checks.settle();
}

// src/action/checks.ts
function checksOf(inputs, x) {
  const { githubStatus, maxStatuses, prComment } = x.values;
  return openGitHubChecks({
    ...githubStatus !== void 0 ? { enabled: githubStatus } : {},
    ...inputs.githubToken !== void 0 ? { token: inputs.githubToken } : {},
    ...x.given("max-statuses") && maxStatuses !== void 0 ? { maxStatuses } : {},
    ...prComment !== void 0 ? { prComment } : {},
    notify: {
      warning: (m) => warning(m, { title: "nixcache: GitHub" }),
      notice: (m) => notice(m, { title: "nixcache: GitHub" })
    }
  });
}

// src/action/push-options.ts
function signingKeyOf(inputs) {
  if (!inputs.signingKey) return void 0;
  try {
    return parseSigningKey(inputs.signingKey).key;
  } catch (e) {
    throw new NixcacheError("usage", `input signing-key: ${errorMessage(e)}`);
  }
}
function compressionOf(x) {
  let c;
  if (x.given("compression") && x.values.compression !== void 0) {
    c = x.values.compression;
    const why = compressionUnsupported(c);
    if (why) throw new NixcacheError("usage", `extra-args --compression ${c}: ${why}`);
  } else {
    const d = defaultCompression();
    if (d.fallback) notice(`NARs are pushed uncompressed (Compression: none): ${d.fallback}.`);
    c = d.compression;
  }
  if (c !== "none") info(`Compressing NARs with ${c}: ${codecBackendName()}, Node ${process.version}.`);
  return c;
}

// src/action/targets.ts
async function targetsOf(inputs, ctx, x, checks) {
  const branch = x.values.branch ?? ctx.branch;
  const systems = x.values.system ?? [];
  const res = await resolveTargets({
    flake: inputs.flake,
    ...inputs.config !== void 0 ? { configFile: inputs.config } : {},
    ...branch !== void 0 ? { branch } : {},
    ...systems.length > 0 ? { systems } : {}
  });
  for (const w of res.warnings) warning(w);
  for (const n of res.notes) notice(n, { title: "nixcache: Garnix config" });
  if (checks && res.commentOnFailure === false && x.values.prComment === void 0) checks.mode = "never";
  info(`${res.targets.length} targets selected (${res.configSource})`);
  return res.targets;
}

// src/action/upload-dashboard-report.ts
async function uploadDashboardReport(inputs, ctx, x, caches, make) {
  if (x.values.report === false) return void 0;
  const context = await reportContext({ commit: x.values.commit, branch: x.values.branch ?? ctx.branch });
  const explicit = x.values.reportTo;
  const outcome = await sendDashboardReport(make(context), {
    ...explicit !== void 0 ? { explicit } : {},
    candidates: caches,
    open: async (url) => new HttpCache(url, { token: cacheToken(url, inputs.token) })
  });
  if (outcome.kind === "uploaded") {
    info(`Report uploaded: ${outcome.url}`);
    return outcome.url;
  }
  if (outcome.kind === "failed")
    warning(`the report was not uploaded to ${outcome.cache}: ${outcome.reason}`, {
      title: "nixcache report"
    });
  return void 0;
}

// src/action/modes/build.ts
function logEvent(e) {
  if (e.type === "evaluated")
    info(
      `${e.targets} targets: ${e.cached} cached, ${e.toBuild} to build, ${e.notBuiltHere} not built here`
    );
  else if (e.type === "target" && (e.phase === "done" || e.phase === "failed"))
    info(`${e.phase === "done" ? "done" : "FAILED"}: ${e.attr} (${e.system})`);
  else if (e.type === "cache-down") warning(`${e.cache}: ${e.reason}`);
  else if (e.type === "log-refused") warning(`${e.cache} did not take a build log: ${e.reason}`);
}
function buildCounts(r) {
  const s = r.summary;
  return { built: s.built, cached: s.cached, failed: s.failed + s.evalFailed, pushed: pushedPaths(r) };
}
function pushCaches(inputs, ctx, noOidcPush) {
  if (noOidcPush !== void 0) {
    notice(`${noOidcPush}: the job builds and reads the cache but does not push.`, {
      title: "nixcache: not pushing"
    });
    return [];
  }
  if (!inputs.token) {
    if (ctx.forkPullRequest) {
      notice(
        "This pull request comes from a fork, and GitHub gives such runs no secrets: the job builds and reads the cache but does not push.",
        { title: "nixcache: not pushing" }
      );
      return [];
    }
    warning(
      "input token is empty: pushing without credentials (set the repository secret the workflow names)"
    );
  }
  return inputs.caches;
}
function buildFlagsOf(inputs, ctx, x) {
  const v = x.values;
  const flags = {
    ...v,
    flake: inputs.flake,
    maxStatuses: v.maxStatuses ?? 50,
    compression: compressionOf(x),
    jobs: v.jobs ?? 8,
    logDir: v.logDir ?? path5.join(ctx.tempDir, `nixcache-logs-${randomBytes(4).toString("hex")}`)
  };
  if (v.upstream === false) flags.upstream = false;
  else if (inputs.upstreams.length > 0) flags.upstream = inputs.upstreams;
  else delete flags.upstream;
  if (inputs.token !== void 0) flags.token = inputs.token;
  return flags;
}
async function runBuildOrCi(inputs, ctx, x, noOidcPush) {
  const pushTo = pushCaches(inputs, ctx, noOidcPush);
  const nixConfig = await readNixConfig();
  await configureNix(inputs, ctx, x.values.cachixApi, nixConfig);
  const gh = checksOf(inputs, x);
  const targets = await targetsOf(inputs, ctx, x, gh);
  const key = signingKeyOf(inputs);
  const setup = buildSetupOf(
    buildFlagsOf(inputs, ctx, x),
    { push: pushTo, targets, nixConfig, ...key ? { signingKey: key } : {} },
    { prefix: "extra-args ", upstream: "input upstream" }
  );
  const prepared = await prepareBuild(setup);
  try {
    const checks = gh ? new TargetChecks(gh, x.values.runnerSystems ?? [], buildableSystems(nixConfig)) : void 0;
    checks?.begin(targets);
    const onEvent = (e) => {
      logEvent(e);
      checks?.event(e);
    };
    if (inputs.command === "ci" && pushTo.length > 0) {
      if (gh) await aggregatePending(gh, "building, pushing and verifying every target");
      const r2 = await group("Build, push and verify", () => ci({ ...prepared.options, onEvent })).catch(async (e) => {
        if (gh) await aggregateError(gh, errorMessage(e));
        throw e;
      });
      const reportUrl = await uploadDashboardReport(inputs, ctx, x, pushTo, (c) => ciDashboardReport(r2, c));
      await checks?.finish(r2.targets, { ...reportUrl !== void 0 ? { reportUrl } : {} });
      return {
        ok: r2.summary.ok,
        line: ciSummaryLine(r2),
        json: ciJson(r2),
        markdown: formatCiMarkdown(r2),
        table: `${formatLogGroups(r2.build)}${formatCiTable(r2)}`,
        annotations: ciAnnotations(r2),
        counts: buildCounts(r2.build)
      };
    }
    const r = await group(
      pushTo.length > 0 ? "Build and push" : "Build",
      () => build({ ...prepared.options, onEvent })
    );
    await checks?.finish(r.targets);
    return {
      ok: r.summary.ok,
      line: buildSummaryLine(r),
      json: buildJson(r),
      markdown: formatBuildMarkdown(r),
      table: `${formatLogGroups(r)}${formatBuildTable(r)}`,
      annotations: buildAnnotations(r),
      counts: buildCounts(r)
    };
  } finally {
    await prepared.close();
  }
}

// src/push/push.ts
async function push(cache, paths, opts = {}) {
  const closure = await queryPathInfos(paths, { recursive: true });
  if (!opts.dryRun) {
    const session = new PushSession(cache, opts);
    await session.add(paths, closure);
    return session.summary;
  }
  const info2 = await cache.cacheInfo().catch(() => void 0);
  if (info2 && info2.storeDir !== DEFAULT_STORE_DIR)
    throw new Error(`${cache.url} is a cache for store ${info2.storeDir}, not ${DEFAULT_STORE_DIR}`);
  const plan = await planPush(cache, closure);
  const narBytes = plan.toPush.reduce((n, p) => n + p.narSize, 0);
  opts.onEvent?.({
    type: "planned",
    closure: closure.length,
    toPush: plan.toPush.length,
    skipped: plan.skipped.length,
    narBytes
  });
  return {
    cache: cache.url,
    dryRun: true,
    pushed: plan.toPush.map((p) => p.path),
    skipped: plan.skipped.map((p) => p.path),
    filtered: [],
    failed: [],
    narBytes,
    fileBytes: 0,
    compression: opts.compression ?? "zstd"
  };
}

// src/report/push-report.ts
function formatPushSummary(s) {
  if (s.dryRun) {
    return {
      stdout: s.pushed.map((p) => `${p}
`).join(""),
      stderr: `would push ${s.pushed.length} paths (${formatBytes(s.narBytes)} of NAR) to ${s.cache}; ${s.skipped.length} already there
`
    };
  }
  const failures = s.failed.map((f) => `nixcache: error: ${f.path}: ${f.error}
`).join("");
  const ratio = s.narBytes > 0 ? ` → ${formatBytes(s.fileBytes)} ${s.compression}` : "";
  return {
    stdout: "",
    stderr: failures + `pushed ${s.pushed.length} paths (${formatBytes(s.narBytes)}${ratio}) to ${s.cache}; ${s.skipped.length} already there${s.failed.length ? `; ${s.failed.length} FAILED` : ""}
`
  };
}

// src/action/modes/push.ts
async function runPush(inputs, x) {
  if (x.positionals.length === 0)
    throw new NixcacheError("usage", "command push: put the store paths in extra-args");
  const paths = await Promise.all(x.positionals.map((p) => resolveStorePath(p)));
  const compression2 = compressionOf(x);
  const out = {
    ok: true,
    line: "",
    json: [],
    markdown: "",
    table: "",
    annotations: [],
    counts: { built: 0, cached: 0, failed: 0, pushed: 0 }
  };
  const summaries = [];
  for (const url of inputs.caches) {
    const cache = await openCache(url, {
      token: cacheToken(url, inputs.token),
      cachixApi: x.values.cachixApi
    });
    try {
      const s = await group(
        `Push to ${url}`,
        () => push(cache, paths, {
          compression: compression2,
          level: x.values.compressionLevel,
          jobs: x.values.jobs ?? 8,
          signingKey: signingKeyOf(inputs)
        })
      );
      summaries.push(s);
      const text = formatPushSummary(s);
      out.table += `${text.stderr}${text.stdout}`;
      out.counts.pushed += s.pushed.length;
      out.counts.cached += s.skipped.length;
      out.counts.failed += s.failed.length;
      for (const f of s.failed)
        out.annotations.push({ title: `nixcache push: ${url}`, message: `${f.path}: ${f.error}` });
    } finally {
      await cache.close();
    }
  }
  out.ok = out.counts.failed === 0;
  out.line = `${out.counts.pushed} paths pushed, ${out.counts.cached} already there, ${out.counts.failed} failed`;
  out.json = summaries;
  out.markdown = `### nixcache push: ${out.ok ? "✅" : "❌"} ${out.line}

`;
  return out;
}

// src/caches/probe.ts
var CacheProbeError = class extends NixcacheError {
  constructor(url, stage, reason) {
    super("usage", stage === "open" ? `${url}: ${reason}` : `cache ${url} is not usable: ${reason}`);
    this.url = url;
    this.stage = stage;
    this.reason = reason;
  }
  url;
  stage;
  reason;
};
async function openAndProbeCaches(urls, opts = {}) {
  const caches = [];
  try {
    for (const url of urls) {
      try {
        caches.push(await openCache(url, opts));
      } catch (e) {
        throw new CacheProbeError(url, "open", errorMessage(e));
      }
    }
    await Promise.all(
      caches.map(async (c) => {
        try {
          await c.cacheInfo();
        } catch (e) {
          throw new CacheProbeError(c.url, "unusable", errorMessage(e));
        }
      })
    );
    return caches;
  } catch (e) {
    await Promise.all(caches.map((c) => c.close()));
    throw e;
  }
}

// src/report/by-system.ts
function bySystem3(items) {
  const m = /* @__PURE__ */ new Map();
  for (const t of items) m.set(t.system, [...m.get(t.system) ?? [], t]);
  return [...m].sort(([a], [b]) => a.localeCompare(b));
}

// src/report/verify-report.ts
var LABEL2 = {
  ok: "ok",
  missing: "MISSING",
  unsigned: "UNSIGNED",
  incomplete: "INCOMPLETE",
  error: "EVAL ERROR"
};
var MAX_LISTED = 5;
function whatIsMissing(t) {
  if (t.status === "error") return t.error ?? "evaluation failed";
  const parts = [];
  const list = (paths) => paths.slice(0, MAX_LISTED).join(", ") + (paths.length > MAX_LISTED ? ` and ${paths.length - MAX_LISTED} more` : "");
  if (t.status === "missing") parts.push(`${t.outPath} is in no cache`);
  else if (t.status === "unsigned") parts.push(`${t.outPath} is not signed by a trusted key`);
  else {
    const closureMissing = t.missing.filter((p) => p !== t.outPath);
    const closureUnsigned = t.unsigned.filter((p) => p !== t.outPath);
    if (closureMissing.length > 0)
      parts.push(`closure lacks ${closureMissing.length}: ${list(closureMissing)}`);
    if (closureUnsigned.length > 0)
      parts.push(`unsigned in closure ${closureUnsigned.length}: ${list(closureUnsigned)}`);
  }
  if (t.status !== "ok" && t.error) parts.push(`(${t.error})`);
  return parts.join("; ");
}
function summaryLine(r) {
  const c = r.counts;
  const bits = [`${c.ok}/${c.total} ok`];
  if (c.missing) bits.push(`${c.missing} missing`);
  if (c.unsigned) bits.push(`${c.unsigned} unsigned`);
  if (c.incomplete) bits.push(`${c.incomplete} with incomplete closure`);
  if (c.error) bits.push(`${c.error} failed to evaluate`);
  return bits.join(", ");
}
function signatureNote(r) {
  return r.signaturesChecked ? `signatures checked against ${r.trustedKeys.join(", ")}` : "signatures NOT checked (no --trusted-key): only presence was verified";
}
function formatTable(r) {
  const out = [];
  for (const [system, ts] of bySystem3(r.targets)) {
    out.push(`${system}`);
    const w1 = Math.max(6, ...ts.map((t) => t.attr.length));
    const w2 = Math.max(6, ...ts.map((t) => LABEL2[t.status].length));
    out.push(`  ${"TARGET".padEnd(w1)}  ${"STATUS".padEnd(w2)}  MISSING`);
    for (const t of ts)
      out.push(`  ${t.attr.padEnd(w1)}  ${LABEL2[t.status].padEnd(w2)}  ${whatIsMissing(t)}`.trimEnd());
    out.push("");
  }
  if (r.targets.length === 0) out.push("no targets selected", "");
  out.push(`${summaryLine(r)}${r.closure ? " (runtime closures checked)" : ""}`);
  out.push(`caches: ${r.caches.join(", ")}`);
  out.push(signatureNote(r));
  return `${out.join("\n")}
`;
}
function mdEscape(s) {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}
function formatMarkdownSummary(r) {
  const icon = r.complete ? "✅" : "❌";
  const out = [
    `## ${icon} nixcache verify: ${r.complete ? "every target is in the cache" : "targets missing from the cache"}`,
    "",
    `${summaryLine(r)}${r.closure ? " (runtime closures checked)" : ""}. Caches: ${r.caches.map((c) => `\`${c}\``).join(", ")}; ${signatureNote(r)}.`,
    ""
  ];
  for (const [system, ts] of bySystem3(r.targets)) {
    out.push(`### ${system}`, "", "| target | status | missing |", "|---|---|---|");
    for (const t of ts) {
      out.push(
        `| \`${mdEscape(t.attr)}\` | ${t.status === "ok" ? "ok" : `**${LABEL2[t.status]}**`} | ${mdEscape(whatIsMissing(t))} |`
      );
    }
    out.push("");
  }
  return `${out.join("\n")}
`;
}
function reportJson(r) {
  return r;
}
function waitProgressLine(p) {
  return `${p.incomplete} of ${p.total} targets not yet in the cache; checking again in ${formatDuration(p.nextInMs)} (gives up in ${formatDuration(p.remainingMs)})`;
}

// src/github/annotations.ts
function verifyAnnotations(r) {
  const lines = [];
  const caches = r.caches.join(", ");
  for (const t of r.targets) {
    let title;
    let msg;
    switch (t.status) {
      case "ok":
        continue;
      case "missing":
        title = "Missing from cache";
        msg = `${t.attr} (${t.system}) missing from ${caches}`;
        break;
      case "unsigned":
        title = "Not signed by a trusted key";
        msg = `${t.attr} (${t.system}) in ${caches} is not signed by ${r.trustedKeys.join(", ")}`;
        break;
      case "incomplete":
        title = "Closure not substitutable";
        msg = `${t.attr} (${t.system}) closure incomplete in ${caches}: ${whatIsMissing(t)}`;
        break;
      case "error":
        title = "Evaluation failed";
        msg = `${t.attr} (${t.system}) failed to evaluate: ${t.error ?? ""}`;
        break;
    }
    lines.push({ title, message: msg });
  }
  return lines;
}

// src/action/modes/verify.ts
async function runVerify(inputs, ctx, x, nixConfig) {
  const upstreams = inputs.upstreams;
  const caches = [
    ...await openAndProbeCaches(inputs.caches, { token: inputs.token, cachixApi: x.values.cachixApi }),
    ...await openAndProbeCaches(upstreams)
  ];
  try {
    const keys = [
      ...parsePublicKeys(x.values.trustedKey ?? [], "extra-args --trusted-key"),
      ...keysFrom(nixConfig.trustedPublicKeys)
    ];
    const key = signingKeyOf(inputs);
    if (key) keys.push(publicKeyOf(key));
    for (const c of caches.slice(0, inputs.caches.length))
      keys.push(...await advertisedKeys(c, cacheToken(c.url, inputs.token)));
    if (upstreams.some((u) => u.replace(/\/+$/, "") === NIXOS_CACHE))
      keys.push(...keysFrom([NIXOS_CACHE_KEY]));
    const gh = checksOf(inputs, x);
    if (gh) await aggregatePending(gh, "verifying that every target is substitutable");
    const targets = await targetsOf(inputs, ctx, x, gh).catch(async (e) => {
      if (gh) await aggregateError(gh, errorMessage(e));
      throw e;
    });
    const opts = {
      caches,
      trustedKeys: keys,
      closure: x.values.closure === true,
      concurrency: x.values.concurrency ?? 32,
      onProgress: (p) => {
        if (p.phase === "wait") info(waitProgressLine(p));
      }
    };
    if (x.values.wait !== void 0)
      opts.wait = { timeoutMs: x.values.wait, intervalMs: x.values.interval ?? 3e4 };
    const r = await group("Verify the cache", () => verifyTargets(targets, opts));
    const notOk = r.targets.filter((t) => t.status !== "ok").length;
    const reportUrl = await uploadDashboardReport(
      inputs,
      ctx,
      x,
      inputs.caches,
      (c) => verifyDashboardReport(r, c, verifyExitCode(r) === 0)
    );
    if (gh) {
      await aggregateFinal(
        gh,
        r.targets.map((t) => ({ attr: t.attr, system: t.system, ok: t.status === "ok" })),
        reportUrl
      );
    }
    return {
      ok: verifyExitCode(r) === 0,
      line: `${r.targets.length - notOk}/${r.targets.length} targets substitutable${x.values.closure ? " with their closures" : ""}`,
      json: reportJson(r),
      markdown: formatMarkdownSummary(r),
      table: formatTable(r),
      annotations: verifyAnnotations(r),
      counts: { built: 0, cached: 0, failed: notOk, pushed: 0 }
    };
  } finally {
    await Promise.all(caches.map((c) => c.close()));
  }
}

// src/caches/oidc-exchange.ts
var OIDC_EXCHANGE_PATH = "/api/v1/oidc/token";
var Grant = external_exports.object({
  token: external_exports.string().min(1),
  expiresAt: external_exports.string().refine((s) => !Number.isNaN(Date.parse(s)), "an ISO 8601 time"),
  caches: external_exports.record(external_exports.string(), external_exports.enum(["read", "write"]))
});
function oidcExchangeUrl(cacheUrl, cachixApi, env = process.env) {
  let u;
  try {
    u = new URL(cacheUrl);
  } catch {
    throw new NixcacheError("usage", `invalid cache URL ${JSON.stringify(cacheUrl)}`);
  }
  if (u.protocol === "cachix:") {
    const api = cachixApiUrl(cachixApi, env).replace(/\/+$/, "");
    if (api === DEFAULT_CACHIX_API)
      throw new NixcacheError(
        "usage",
        `${cacheUrl}: Cachix has no OIDC token exchange; OIDC needs a nixcache server (http(s)://HOST/<cache>, or --cachix-api pointing at one)`
      );
    return `${plain(new URL(api))}/oidc/token`;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new NixcacheError(
      "usage",
      `${u.protocol}// caches have no OIDC token exchange: use a nixcache server`
    );
  const segments = u.pathname.split("/").filter(Boolean);
  if (segments.length === 0)
    throw new NixcacheError("usage", `${plain(u)}: name the cache (http(s)://HOST/<cache>)`);
  u.pathname = segments.slice(0, -1).join("/");
  return `${plain(u)}${OIDC_EXCHANGE_PATH}`;
}
function plain(u) {
  const c = new URL(u.href);
  c.username = "";
  c.password = "";
  c.search = "";
  c.hash = "";
  return c.href.replace(/\/+$/, "");
}
function cacheNameOf(cacheUrl) {
  try {
    const u = new URL(cacheUrl);
    if (u.protocol === "cachix:") return u.hostname || u.pathname.replace(/^\/+/, "") || void 0;
    return u.pathname.split("/").filter(Boolean).at(-1);
  } catch {
    return void 0;
  }
}
function serverReason(body) {
  const text = body.toString("utf8").trim();
  try {
    const j = JSON.parse(text);
    if (typeof j.error === "string") return j.error.slice(0, 500);
  } catch {
  }
  return text.slice(0, 500) || "no reason given";
}
async function exchangeIdToken(url, idToken, opts = {}) {
  const u = new URL(url);
  const what = `POST ${plain(u)}`;
  const pool = createPool(u.origin, { connections: 1 });
  try {
    const res = await request(
      pool,
      {
        method: "POST",
        path: `${u.pathname}${u.search}`,
        what,
        headers: { authorization: `Bearer ${idToken}`, accept: "application/json" },
        signal: opts.signal,
        serverMessage: serverReason,
        refused: (status, body) => {
          const reason = serverReason(body);
          if (status === 401 || status === 403)
            return new NixcacheError(
              "unauthorized",
              `${what}: the server refused the identity token: ${reason}`
            );
          if (status === 404)
            return new NixcacheError(
              "notFound",
              `${what}: 404: this server has no OIDC token exchange (not a nixcache server, or one without OIDC issuers configured)`
            );
          return new NixcacheError(codeForStatus(status), `${what}: HTTP ${status}: ${reason}`);
        },
        failed: (message) => new NixcacheError("unavailable", message)
      },
      opts.retry
    );
    let json;
    try {
      json = JSON.parse(res.body.toString("utf8"));
    } catch {
      throw new NixcacheError("invalid", `${what}: the answer is not JSON`);
    }
    const grant = Grant.safeParse(json);
    if (!grant.success)
      throw new NixcacheError(
        "invalid",
        `${what}: unexpected answer: ${grant.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`
      );
    return grant.data;
  } finally {
    await pool.close();
  }
}

// src/github/oidc-login.ts
var isPullRequest = (ctx) => ctx.event.startsWith("pull_request");
async function requestIdToken(audience) {
  if (!process.env.ACTIONS_ID_TOKEN_REQUEST_URL || !process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN)
    throw new NixcacheError(
      "usage",
      "input oidc: this job cannot request an OIDC identity token (ACTIONS_ID_TOKEN_REQUEST_URL is not set): give the workflow or the job `permissions: id-token: write` (and `contents: read`)"
    );
  try {
    return await getIDToken(audience);
  } catch (e) {
    throw new NixcacheError(
      "unavailable",
      `input oidc: GitHub did not issue an identity token: ${errorMessage(e).replace(/\s+/g, " ")}`
    );
  }
}
function exchangeUrlOf(caches, cachixApi, env = process.env) {
  const urls = new Set(caches.map((c) => oidcExchangeUrl(c, cachixApi, env)));
  if (urls.size !== 1)
    throw new NixcacheError(
      "usage",
      `input oidc: one token is exchanged for all caches, but they are on ${urls.size} servers (${[...urls].join(", ")})`
    );
  return [...urls][0];
}
async function oidcLogin(o) {
  const url = exchangeUrlOf(o.caches, o.cachixApi);
  if (isPullRequest(o.ctx) && !process.env.ACTIONS_ID_TOKEN_REQUEST_URL)
    return {
      kind: "skipped",
      reason: o.ctx.forkPullRequest ? "This pull request comes from a fork, and GitHub gives such runs no OIDC identity token" : "This pull request's job has no OIDC identity token (no `permissions: id-token: write`)"
    };
  const exchange = async () => {
    try {
      return await exchangeIdToken(url, await requestIdToken(o.audience), { retry: o.retry });
    } catch (e) {
      if (!(e instanceof NixcacheError && e.code === "conflict")) throw e;
      return exchangeIdToken(url, await requestIdToken(o.audience), { retry: o.retry });
    }
  };
  let grant;
  try {
    grant = await exchange();
  } catch (e) {
    if (isPullRequest(o.ctx) && e instanceof NixcacheError && e.code === "unauthorized")
      return { kind: "skipped", reason: `The cache server gives this pull request no token: ${e.message}` };
    throw e;
  }
  setSecret(grant.token);
  const granted = Object.entries(grant.caches).map(([c, p]) => `${c} (${p})`);
  info(`OIDC: a cache token for ${granted.join(", ") || "no cache"}, valid until ${grant.expiresAt}`);
  let writable = true;
  for (const c of o.caches) {
    const name = cacheNameOf(c);
    const perm = name === void 0 ? void 0 : grant.caches[name];
    if (perm !== "write") writable = false;
    if (name && perm === void 0)
      warning(`OIDC: the token grants nothing on ${name}: no trust rule of the server matches this job`);
  }
  return { kind: "token", token: grant.token, grant, writable };
}

// src/action/oidc.ts
async function loginWithOidc(inputs, ctx, cachixApi) {
  const login = await group(
    "Exchange the job's OIDC identity token for a cache token",
    () => oidcLogin({ caches: inputs.caches, audience: inputs.oidcAudience, ctx, cachixApi })
  );
  if (login.kind === "skipped") {
    if (inputs.command === "verify" || inputs.command === "push")
      notice(`${login.reason}: going on without a cache token.`, { title: "nixcache: no token" });
    return login.reason;
  }
  inputs.token = login.token;
  if (login.writable || inputs.command === "verify") return void 0;
  const readOnly = `cache token this job got through OIDC may not write to every cache (${JSON.stringify(login.grant.caches)})`;
  if (!ctx.event.startsWith("pull_request"))
    throw new NixcacheError(
      "forbidden",
      `input oidc: the ${readOnly}: add a write trust rule for this job on the server`
    );
  return `The ${readOnly}`;
}

// src/action/outcome.ts
import { mkdir as mkdir2, writeFile as writeFile2 } from "node:fs/promises";
import path6 from "node:path";
async function publishOutcome(command, tempDir, outcome) {
  info(outcome.table);
  await mkdir2(tempDir, { recursive: true });
  const report = path6.join(tempDir, `nixcache-${command}-report.json`);
  await writeFile2(report, `${JSON.stringify(outcome.json, null, 2)}
`);
  setOutput("built", outcome.counts.built);
  setOutput("cached", outcome.counts.cached);
  setOutput("failed", outcome.counts.failed);
  setOutput("pushed", outcome.counts.pushed);
  setOutput("report", report);
  info(`report: ${report}`);
  if (process.env.GITHUB_STEP_SUMMARY) await summary.addRaw(outcome.markdown).write();
  for (const a of outcome.annotations) error(a.message, { title: a.title });
  if (!outcome.ok) setFailed(`nixcache ${command}: ${outcome.line}`);
  else info(`nixcache ${command}: ${outcome.line}`);
}

// src/action/run.ts
async function main() {
  let inputs;
  try {
    inputs = readActionInputs();
  } catch (e) {
    setFailed(errorMessage(e));
    return;
  }
  try {
    const ctx = runContext();
    const x = parseExtraArgs(inputs.command, inputs.extraArgs);
    if (inputs.caches.length === 0)
      throw new NixcacheError("usage", "input cache: name at least one cache URL");
    const noOidcPush = inputs.oidc ? await loginWithOidc(inputs, ctx, x.values.cachixApi) : void 0;
    let outcome;
    if (inputs.command === "verify") outcome = await runVerify(inputs, ctx, x, await readNixConfig());
    else if (inputs.command === "push") outcome = await runPush(inputs, x);
    else outcome = await runBuildOrCi(inputs, ctx, x, noOidcPush);
    await publishOutcome(inputs.command, ctx.tempDir, outcome);
  } catch (e) {
    setFailed(errorMessage(e));
  }
}

// src/action/main.ts
await main();
