// LTI Dynamic Registration §3.6: tell the platform's page that the registration is done.
(function () {
  "use strict";
  const page = document.getElementById("registered");
  const target = window.opener || window.parent;
  if (page && target && target !== window) {
    target.postMessage({ subject: "org.imsglobal.lti.close" }, page.dataset.openerOrigin || "*");
  }
})();
