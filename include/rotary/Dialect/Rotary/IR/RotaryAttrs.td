//===- RotaryAttrs.td - rotary enum attributes -------------*- tablegen -*-===//

#ifndef ROTARY_DIALECT_ROTARY_IR_ROTARYATTRS_TD
#define ROTARY_DIALECT_ROTARY_IR_ROTARYATTRS_TD

include "rotary/Dialect/Rotary/IR/RotaryDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Rotary_RopeLayout : I32EnumAttr<"RopeLayout", "which elements form a pair", [
    // NeoX/Llama: pair i is (i, i + r/2).
    I32EnumAttrCase<"half", 0>,
    // GPT-J: pair i is (2i, 2i + 1).
    I32EnumAttrCase<"interleaved", 1>,
    // Reads pairs (2i, 2i + 1), writes first elements to [0, r/2) and
    // second elements to [r/2, r).
    I32EnumAttrCase<"deinterleave", 2>
  ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::rotary";
}
def Rotary_RopeLayoutAttr : EnumAttr<Rotary_Dialect, Rotary_RopeLayout, "layout">;

def Rotary_XPosRole : I32EnumAttr<"XPosRole",
    "which xPos scale a rope applies", [
    // ζ_i^(n/scale_base): the query side.
    I32EnumAttrCase<"query", 0>,
    // ζ_i^(-n/scale_base): the key side.
    I32EnumAttrCase<"key", 1>
  ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::rotary";
}
def Rotary_XPosRoleAttr : EnumAttr<Rotary_Dialect, Rotary_XPosRole, "xpos">;

def Rotary_SOForm : I32EnumAttr<"SOForm", "how angles become an SO(c) matrix", [
    I32EnumAttrCase<"givens", 0>,
    I32EnumAttrCase<"exp", 1>
  ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::rotary";
}
def Rotary_SOFormAttr : EnumAttr<Rotary_Dialect, Rotary_SOForm, "so_form">;

def Rotary_BandLayout : I32EnumAttr<"BandLayout", "how a spectrum is split into bands", [
    I32EnumAttrCase<"linear", 0>,
    I32EnumAttrCase<"log", 1>,
    I32EnumAttrCase<"split", 2>
  ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::rotary";
}
def Rotary_BandLayoutAttr : EnumAttr<Rotary_Dialect, Rotary_BandLayout, "band_layout">;

def Rotary_FamHandler : I32EnumAttr<"FamHandler", "FAM momentum rule", [
    I32EnumAttrCase<"Default", 0, "default">,
    I32EnumAttrCase<"conv", 1>,
    I32EnumAttrCase<"attention", 2>,
    I32EnumAttrCase<"embedding", 3>
  ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::rotary";
}
def Rotary_FamHandlerAttr : EnumAttr<Rotary_Dialect, Rotary_FamHandler, "handler">;

#endif // ROTARY_DIALECT_ROTARY_IR_ROTARYATTRS_TD
