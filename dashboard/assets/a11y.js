/* Accessible names and tab order that Dash 4.4's Slider and Dropdown cannot be given from Python.
 *
 * - A slider's thumb (role="slider") and its number box get the label of the control around them, read
 *   from the wrapper's data-a11y-label attribute (dashboard/components/controls.py sets it).
 * - A dropdown's clear control is an <a> without href: it gets role="button".
 * - A dropdown puts a read-only <input aria-hidden="true"> in the tab order that passes focus on to the
 *   real button: a focusable element hidden from screen readers. Here the button itself takes the Tab
 *   stop (it is what <label for=…> names and what Enter and the arrow keys open) and the stand-in leaves
 *   the tab order.
 *
 * Components are drawn and redrawn by React at any time, so this runs after every change to the page.
 */
(function () {
    "use strict";

    function label(root) {
        root.querySelectorAll("[data-a11y-label]").forEach(function (box) {
            var name = box.getAttribute("data-a11y-label");
            box.querySelectorAll("[role='slider'], input").forEach(function (element) {
                if (element.getAttribute("aria-label") !== name) {
                    element.setAttribute("aria-label", name);
                }
            });
        });
        // the dropdown's clear "link" is a button without an address
        root.querySelectorAll("a.dash-dropdown-clear:not([href]):not([role])").forEach(function (clear) {
            clear.setAttribute("role", "button");
        });
        root.querySelectorAll(".dash-dropdown-focus-target").forEach(function (standIn) {
            if (standIn.tabIndex !== -1) {
                standIn.tabIndex = -1;
            }
            var button = standIn.nextElementSibling;
            if (button && button.tagName === "BUTTON" && !button.disabled && button.tabIndex !== 0) {
                button.tabIndex = 0;
            }
        });
    }

    new MutationObserver(function () { label(document); }).observe(document.documentElement, {
        subtree: true, childList: true, attributes: true, attributeFilter: ["tabindex", "disabled"]
    });
})();
